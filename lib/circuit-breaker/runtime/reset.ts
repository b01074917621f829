/**
 * A human reset of a circuit breaker, as a sequence in which every failure point leaves the agent
 * quarantined, never free (threat model, invariant 10):
 *
 * 1. begin: the state goes `resetting` (token: the reset id). The quarantine stays on the role.
 * 2. rebase the counters (token: the reset id), so the re-armed breaker does not trip on the incident.
 * 3. close: `closed` only if this reset is still the one under way and no trip happened since it
 *    began (a trip during a reset wins); a retry of a close that applied is read back by the token.
 * 4. record the reset in the ledger (who frees the agent is on record before it is freed).
 * 5. lift the quarantine, the last write: first the agent's quarantine on the approval gates'
 *    credentials roles is removed (the sessions it collected), then the agent role's is lifted;
 *    before that lift, the agent is quarantined whatever fails.
 * 6. read the state again: a trip that claimed the breaker between the close and the lift (its
 *    quarantine may have landed before the lift) gets its quarantine back.
 *
 * A step that fails, or a trip that wins, ends the reset as aborted: the breaker is tripped (on the
 * trip during the reset, if any), the quarantine is written again, the ledger and the alert say so.
 * What the reset could not confirm it reports as not confirmed; the handler also puts the quarantine
 * back on the next event of a tripped agent whose policy is missing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { liftCredentialsQuarantine, liftQuarantine, publishAlert, writeCredentialsQuarantine, writeQuarantine } from './incident';
import { BreakerState, BreakerStore } from './store';

export interface ResetRequest {
  readonly agentName: string;
  readonly roleName: string;
  readonly tableName: string;
  /** Who resets (the operator's ARN). */
  readonly resetBy: string;
  readonly reason?: string;
  /** Where the reset (or its abort) is announced; none: not announced. */
  readonly topicArn?: string;
  readonly resetId: string;
  readonly at: Date;
  /** The approval gates' credentials roles the breaker quarantines too (the construct's config); none: none. */
  readonly credentialsRoleNames?: readonly string[];
}

export interface ResetClients {
  readonly dynamodb: DynamoDBClient;
  readonly iam: IAMClient;
  readonly sns: SNSClient;
}

/**
 * - `reset`: the breaker is closed and the quarantine lifted;
 * - `aborted`: a trip won or a step failed; the breaker is tripped and the agent quarantined (see `quarantined`);
 * - `superseded`: another reset took over before this one closed; this one lifted nothing;
 * - `failed`: the reset could not begin or its outcome could not be read; this one lifted nothing.
 */
export type ResetOutcome = 'reset' | 'aborted' | 'superseded' | 'failed';

export interface ResetResult {
  readonly outcome: ResetOutcome;
  /** Whether the agent is quarantined now, as far as this reset could make sure: `unknown` when IAM refused. */
  readonly quarantined: 'yes' | 'no' | 'unknown';
  /** Why the reset did not complete. */
  readonly why?: string;
  readonly previous?: BreakerState;
  readonly incidentId: string;
  /** Follow-ups that failed (ledger record, alert): said to the operator, never hidden. */
  readonly problems: readonly string[];
}

const message = (e: unknown) => `${(e as { name?: string })?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;

export async function resetBreaker(request: ResetRequest, clients: ResetClients): Promise<ResetResult> {
  const store = new BreakerStore(clients.dynamodb, request.tableName);
  const problems: string[] = [];
  const at = request.at.toISOString();
  let previous: BreakerState | undefined;
  try {
    previous = await store.beginReset(request.agentName, request.resetId, request.resetBy, at);
  } catch (e) {
    // Nothing was lifted. A `resetting` state this may have left is overridden by the next trip once stale.
    const why = `the reset could not begin: ${message(e)}`;
    await announce(request, clients, problems, {
      subject: `Circuit breaker reset NOT done: agent ${request.agentName} (nothing was lifted)`,
      kind: 'reset-incomplete',
      body: { why, resetBy: request.resetBy, quarantine: 'unchanged: this reset lifted nothing' },
    });
    return { outcome: 'failed', quarantined: 'unknown', why, incidentId: 'none', problems };
  }
  const incidentId = previous?.incidentId ?? 'none';
  const abort = (why: string) => abortReset(request, clients, store, why, previous, problems);
  try {
    await store.rebaseWindows(request.agentName, request.resetId);
  } catch (e) {
    return abort(`the counters could not be rebased: ${message(e)}`);
  }
  let closed: boolean;
  try {
    closed = await store.finishReset(request.agentName, request.resetId);
  } catch (e) {
    return abort(`the breaker could not be re-armed: ${message(e)}`);
  }
  if (!closed) return abort('the breaker tripped again while the reset was under way');
  try {
    await store.appendLedger({
      kind: 'reset',
      agentName: request.agentName,
      incidentId,
      at,
      actor: request.resetBy,
      details: {
        reason: request.reason ?? 'human reset',
        roleName: request.roleName,
        resetId: request.resetId,
        previousState: previous?.state ?? 'none',
        trippedAt: previous?.trippedAt,
      },
    });
  } catch (e) {
    return abort(`the reset could not be recorded in the ledger: ${message(e)}`);
  }
  try {
    await liftCredentialsQuarantine(clients.iam, request.credentialsRoleNames ?? [], request.roleName);
  } catch (e) {
    // Some may be removed: abort writes them all again, and the agent role's was never lifted.
    return abort(`IAM refused to remove the agent's quarantine from an approval gate credentials role (${message(e)})`);
  }
  try {
    await liftQuarantine(clients.iam, request.roleName, request.at);
  } catch (e) {
    // The lift may have landed although its answer was lost: abort writes the quarantine again.
    return abort(`IAM refused to lift the quarantine on role ${request.roleName}: ${message(e)}`);
  }
  let after: BreakerState | undefined;
  try {
    after = await store.state(request.agentName);
  } catch (e) {
    return abort(`the breaker state could not be read after the lift: ${message(e)}`);
  }
  if (after?.state === 'tripped') {
    // A trip claimed the breaker between the close and the lift; the lift may have removed its quarantine.
    return abort('the breaker tripped again right after it was re-armed');
  }
  await announce(request, clients, problems, {
    subject: `Circuit breaker reset: agent ${request.agentName}`,
    kind: 'reset',
    body: { incidentId, resetAt: at, resetBy: request.resetBy, reason: request.reason ?? 'human reset' },
  });
  return { outcome: 'reset', quarantined: 'no', previous, incidentId, problems };
}

/** Publishes an alert of the reset when a topic is given; a failure is added to the problems, never thrown. */
async function announce(
  request: ResetRequest,
  clients: ResetClients,
  problems: string[],
  alert: { subject: string; kind: string; body: Record<string, unknown> },
): Promise<void> {
  if (!request.topicArn) return;
  try {
    await publishAlert(clients.sns, request.topicArn, { ...alert, agentName: request.agentName });
  } catch (e) {
    problems.push(`the alert to ${request.topicArn} failed: ${message(e)}`);
  }
}

/**
 * Ends a reset that must not close the breaker. Unless another reset has taken over before this one
 * closed (then this one lifted nothing), the breaker is tripped (on the trip that happened during
 * the reset, if any, or on its incident again) and the quarantine is written again: a lift of this
 * reset may have landed. Then the ledger and the alert.
 */
async function abortReset(
  request: ResetRequest,
  clients: ResetClients,
  store: BreakerStore,
  why: string,
  previous: BreakerState | undefined,
  problems: string[],
): Promise<ResetResult> {
  const incidentId = previous?.incidentId ?? 'none';
  let state: BreakerState | undefined;
  try {
    state = await tripAgain(store, request);
  } catch (e) {
    state = undefined;
    problems.push(`the breaker state could not be set to tripped: ${message(e)}`);
  }
  const ours = state === undefined || state.state === 'tripped' || state.lastResetId === request.resetId;
  if (!ours) {
    // Another reset took over before this one closed: it decides, and this one lifted nothing.
    return { outcome: 'superseded', quarantined: 'unknown', why, previous, incidentId, problems };
  }
  let quarantined: 'yes' | 'unknown' = 'yes';
  const trippedAt = new Date(state?.trippedAt ?? previous?.trippedAt ?? request.at.toISOString());
  try {
    await writeQuarantine(clients.iam, request.roleName, trippedAt);
    await writeCredentialsQuarantine(clients.iam, request.credentialsRoleNames ?? [], request.roleName);
  } catch (e) {
    quarantined = 'unknown';
    problems.push(
      `IAM refused to re-apply the quarantine of role ${request.roleName}: ${message(e)}. The breaker puts it back on the agent's next ` +
        "call; run breaker trip, or remove the agent's credentials.",
    );
  }
  const current = state ?? previous;
  try {
    if (quarantined === 'yes' && current?.incidentId && !current.completedAt) {
      await store.markCompleted(request.agentName, current.incidentId, new Date().toISOString());
    }
    await store.appendLedger({
      kind: quarantined === 'yes' ? 'reset-aborted' : 'reset-incomplete',
      agentName: request.agentName,
      incidentId: current?.incidentId ?? incidentId,
      at: request.at.toISOString(),
      actor: request.resetBy,
      details: { why, roleName: request.roleName, resetId: request.resetId, trippedBy: current?.trippedBy, reason: current?.reason, quarantined },
    });
  } catch (e) {
    problems.push(`the aborted reset could not be recorded in the ledger: ${message(e)}`);
  }
  await announce(request, clients, problems, {
    subject:
      quarantined === 'yes'
        ? `Circuit breaker reset aborted: agent ${request.agentName} is quarantined`
        : `RESET FAILED: agent ${request.agentName} may NOT be quarantined`,
    kind: quarantined === 'yes' ? 'reset-aborted' : 'reset-incomplete',
    body: {
      why,
      incidentId: current?.incidentId ?? incidentId,
      trippedAt: current?.trippedAt,
      trippedBy: current?.trippedBy,
      reason: current?.reason,
      resetBy: request.resetBy,
      quarantine:
        quarantined === 'yes'
          ? 'every session of the role is denied every action until a human resets the breaker'
          : "NOT CONFIRMED: IAM refused to re-apply it; run breaker trip, or remove the agent's credentials",
    },
  });
  return { outcome: 'aborted', quarantined, why, previous, incidentId: current?.incidentId ?? incidentId, problems };
}

/**
 * Moves the breaker from this reset to tripped: on the trip left pending on the reset, or on the
 * incident it was reset from; or, when this reset had already closed it, tripped again. Returns the
 * state after (a state another reset owns is returned as it is).
 */
async function tripAgain(store: BreakerStore, request: ResetRequest): Promise<BreakerState | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const state = await store.state(request.agentName);
    if (state?.state === 'resetting' && state.resetId === request.resetId) {
      const moved = state.pendingIncident
        ? await store.promotePendingTrip(request.agentName, request.resetId, state.pendingIncident)
        : await store.revertReset(request.agentName, request.resetId);
      if (moved) return store.state(request.agentName);
    } else if (state?.state === 'closed' && state.lastResetId === request.resetId) {
      if (await store.reopen(request.agentName, request.resetId)) return store.state(request.agentName);
    } else {
      return state;
    }
  }
  throw new Error(`the breaker state of agent ${request.agentName} kept changing`);
}
