/**
 * The circuit breaker's decision for one CloudTrail event: which agent made it, how it counts,
 * whether the agent's window now exceeds a threshold, and if so the trip (exactly once per
 * incident, however many events race).
 */
import { randomUUID } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { BreakerConfig, WatchedAgentConfig, resetCommand } from './breaker-config';
import { classifyEvent } from './breaker-events';
import { isQuarantine } from './breaker-quarantine';
import { Alert, credentialsQuarantined, publishAlert, readQuarantine, writeCredentialsQuarantine, writeQuarantine } from './incident';
import { inertText } from '../../shared/inert-text';
import { BreakerState, BreakerStore, COUNTER_RETENTION_SECONDS, Incident, WindowCounts, windowStartOf } from './store';

export interface BreakerClients {
  readonly dynamodb: DynamoDBClient;
  readonly iam: IAMClient;
  readonly sns: SNSClient;
}

export interface BreakerOptions {
  /** The clock; tests move it. */
  readonly now?: () => Date;
  /**
   * A trip whose completion (quarantine, ledger, alert) is not recorded this long after it was
   * claimed is completed again by the next event: the claiming invocation failed midway.
   * @default 30 seconds
   */
  readonly staleTripMs?: number;
  /**
   * A human reset still under way this long after it began has stalled (the operator's CLI died
   * midway, perhaps after lifting the quarantine): the next trip overrides it rather than leave the
   * breaker disarmed.
   * @default 10 minutes
   */
  readonly staleResetMs?: number;
  /**
   * While an agent is tripped, its further events check (at most this often per container) that the
   * quarantine is still on the role, and put it back if not: a reset that died after lifting it, or
   * a lift that landed after a trip, cannot leave a tripped agent free.
   * @default 5 seconds
   */
  readonly quarantineCheckMs?: number;
}

/** A CloudTrail management event as EventBridge delivers it (the fields the breaker reads). */
export interface CloudTrailEvent {
  readonly 'id'?: string;
  readonly 'time'?: string;
  readonly 'source'?: string;
  readonly 'detail-type'?: string;
  readonly 'detail'?: {
    readonly eventTime?: string;
    readonly eventID?: string;
    readonly eventSource?: string;
    readonly eventName?: string;
    readonly readOnly?: boolean;
    readonly errorCode?: string;
    readonly userIdentity?: {
      readonly type?: string;
      readonly arn?: string;
      readonly sessionContext?: { readonly sourceIdentity?: string; readonly sessionIssuer?: { readonly arn?: string } };
    };
  };
}

export type Outcome =
  'ignored' | 'counted' | 'tripped' | 'already-tripped' | 'alerted' | 'completed-stale-trip' | 'pending-on-reset' | 'quarantine-restored';

export interface ProcessResult {
  readonly outcome: Outcome;
  readonly agentName?: string;
  readonly counts?: WindowCounts;
}

export class BreakerProcessor {
  private readonly store: BreakerStore;
  private readonly byRoleArn: Map<string, WatchedAgentConfig>;
  private readonly now: () => Date;
  private readonly staleTripMs: number;
  private readonly staleResetMs: number;
  private readonly quarantineCheckMs: number;
  /** The previous window's counts of each agent as last read (this container), and when. */
  private readonly previousWindows = new Map<string, { windowStart: number; counts: WindowCounts; lateMarks: number }>();
  /** When each agent's quarantine was last seen in place (this container). */
  private readonly quarantineSeenAt = new Map<string, number>();

  constructor(
    private readonly config: BreakerConfig,
    private readonly clients: BreakerClients,
    options: BreakerOptions = {},
  ) {
    this.store = new BreakerStore(clients.dynamodb, config.tableName);
    this.byRoleArn = new Map(config.agents.map((a) => [a.roleArn, a]));
    this.now = options.now ?? (() => new Date());
    this.staleTripMs = options.staleTripMs ?? 30_000;
    this.staleResetMs = options.staleResetMs ?? 600_000;
    this.quarantineCheckMs = options.quarantineCheckMs ?? 5_000;
  }

  public async process(event: CloudTrailEvent): Promise<ProcessResult> {
    const detail = event.detail;
    // The rule already filters; the handler checks again, so a misrouted event never counts.
    if (!detail || event['detail-type'] !== 'AWS API Call via CloudTrail' || !String(event.source ?? '').startsWith('aws.')) {
      return { outcome: 'ignored' };
    }
    const agent = this.byRoleArn.get(detail.userIdentity?.sessionContext?.sessionIssuer?.arn ?? '');
    if (!agent) {
      return { outcome: 'ignored' };
    }
    const kind = classifyEvent(detail);
    if (!kind.write && !kind.denied) {
      return { outcome: 'ignored', agentName: agent.agentName };
    }
    const at = eventTime(event, this.now());
    const windowStart = windowStartOf(at, agent.windowSeconds);
    const add = { writes: kind.write ? 1 : 0, destructive: kind.destructive ? 1 : 0, denied: kind.denied ? 1 : 0 };
    // CloudTrail's own id is the same across redeliveries of the event; EventBridge's id is the fallback.
    const counted = await this.store.count(agent.agentName, windowStart, agent.windowSeconds, add, detail.eventID ?? event.id);
    const { sinceReset: exact, lateMarks, ...raw } = counted;
    const windowMs = agent.windowSeconds * 1000;
    const nextStart = new Date(windowStart.getTime() + windowMs);
    const late = nextStart.getTime() <= this.now().getTime();
    if (late) {
      // Counted into a window that has ended: containers' copies of it (as the previous window) are stale now.
      await this.store.markLate(agent.agentName, nextStart, agent.windowSeconds);
    }
    const overlap = 1 - (at.getTime() - windowStart.getTime()) / windowMs;
    // The hot path: one write. Its raw totals (never below those since the last reset) and this
    // container's copy of the previous window (unchanged since: no late marks), far from every threshold.
    const copy = this.previousCopy(agent, windowStart, lateMarks);
    if (!late && copy && !nearThreshold(agent, slidingEstimate(raw, copy, overlap))) {
      return { outcome: 'counted', agentName: agent.agentName, counts: raw };
    }
    // Near a threshold (or no copy): decide on exact figures, read consistently.
    const counts = exact ? raw : await this.store.sinceLastReset(agent.agentName, raw);
    let exceeded = exceededThresholds(agent, counts);
    let reason = `${exceeded.join(', ')} in the window starting ${counts.windowStart} (${agent.windowSeconds} s)`;
    if (exceeded.length === 0) {
      // Sliding window: the previous window counts in proportion to its overlap with the last
      // windowSeconds, so that a burst straddling a window boundary still trips.
      const previous = await this.readPrevious(agent, windowStart, lateMarks);
      exceeded = exceededThresholds(agent, slidingEstimate(counts, previous, overlap));
      reason = `about ${exceeded.join(', ')} in the last ${agent.windowSeconds} s (this window plus the previous one weighted by its overlap)`;
    }
    if (exceeded.length === 0 && late && this.now().getTime() < nextStart.getTime() + windowMs) {
      // A late call also weighs in the window under way now, whose calls were counted without it.
      const current = await this.store.window(agent.agentName, nextStart);
      const nowOverlap = 1 - (this.now().getTime() - nextStart.getTime()) / windowMs;
      exceeded = exceededThresholds(agent, slidingEstimate(current, counts, nowOverlap));
      reason = `about ${exceeded.join(', ')} in the last ${agent.windowSeconds} s (the window under way plus the previous one, with a late call)`;
    }
    if (exceeded.length === 0) {
      return { outcome: 'counted', agentName: agent.agentName, counts };
    }
    const evidence = {
      reason,
      counts,
      thresholds: {
        maxDestructiveCalls: agent.maxDestructiveCalls,
        maxDeniedCalls: agent.maxDeniedCalls,
        maxWriteCalls: agent.maxWriteCalls || undefined,
      },
      lastEvent: {
        id: event.id,
        action: kind.action,
        errorCode: detail.errorCode,
        sourceIdentity: detail.userIdentity?.sessionContext?.sourceIdentity,
        sessionArn: detail.userIdentity?.arn,
      },
    };
    if (this.config.monitorOnly) {
      return this.monitorAlert(agent, counts, evidence);
    }
    return this.trip(agent, counts, evidence);
  }

  /**
   * This container's copy of the agent's previous-window counts, if that window has not grown since
   * it was read: the copy was taken after a write that returned the same late marks as now.
   */
  private previousCopy(agent: WatchedAgentConfig, windowStart: Date, lateMarks: number): WindowCounts | undefined {
    const copy = this.previousWindows.get(agent.agentName);
    const start = windowStart.getTime() - agent.windowSeconds * 1000;
    return copy && copy.windowStart === start && lateMarks >= 0 && copy.lateMarks === lateMarks ? copy.counts : undefined;
  }

  /** The previous window's counts since the last reset, read consistently (and kept as this container's copy). */
  private async readPrevious(agent: WatchedAgentConfig, windowStart: Date, lateMarks: number): Promise<WindowCounts> {
    const start = windowStart.getTime() - agent.windowSeconds * 1000;
    const previous = await this.store.window(agent.agentName, new Date(start));
    this.previousWindows.set(agent.agentName, { windowStart: start, counts: previous, lateMarks });
    return previous;
  }

  private async trip(agent: WatchedAgentConfig, counts: WindowCounts, evidence: Record<string, unknown>, attempt = 1): Promise<ProcessResult> {
    const trippedAt = this.now();
    const incident: Incident = {
      incidentId: randomUUID(),
      trippedAt: trippedAt.toISOString(),
      reason: String(evidence.reason),
      trippedBy: 'circuit-breaker',
    };
    const overResetStartedBefore = new Date(trippedAt.getTime() - this.staleResetMs).toISOString();
    if (await this.store.claimIncident(agent.agentName, incident, { overResetStartedBefore })) {
      await this.complete(agent, incident, evidence);
      return { outcome: 'tripped', agentName: agent.agentName, counts };
    }
    const state = await this.store.state(agent.agentName);
    if (state?.state === 'resetting' && state.resetId) {
      // A human reset is under way and may be about to lift the quarantine policy. Record the trip
      // on the reset, which then re-applies the quarantine instead of closing; quarantine and alert
      // here as well, so that the agent is stopped even if the operator's reset dies midway.
      const pending = await this.store.recordPendingTrip(agent.agentName, state.resetId, incident);
      if (pending === 'recorded') {
        await this.complete(
          agent,
          incident,
          { ...evidence, duringReset: { resetId: state.resetId, resetBy: state.resetBy, resetAt: state.resetAt } },
          false,
        );
        return { outcome: 'pending-on-reset', agentName: agent.agentName, counts };
      }
      if (pending === 'already-pending') {
        await this.ensureQuarantined(agent, state.pendingIncident ?? incident, false);
        return { outcome: 'already-tripped', agentName: agent.agentName, counts };
      }
      // The reset ended meanwhile: decide again against its outcome (a few times; then fail, and Lambda retries).
      if (attempt >= 3) throw new Error(`breaker state of agent ${agent.agentName} kept changing while tripping; retrying the event`);
      return this.trip(agent, counts, evidence, attempt + 1);
    }
    if (state && state.state === 'tripped' && !state.completedAt && isStale(state, this.now(), this.staleTripMs)) {
      // The invocation that claimed the incident failed before finishing: finish it, once more.
      await this.complete(agent, incidentOf(state, this.now()), evidence);
      return { outcome: 'completed-stale-trip', agentName: agent.agentName, counts };
    }
    if (state?.state === 'tripped') {
      // Tripped: the agent must be quarantined whatever happened to the policy since (a reset that
      // died after lifting it, a lift that landed after this trip). Loud only once the trip is
      // complete: before that, its claimant is still writing the quarantine and the alert.
      if (await this.ensureQuarantined(agent, incidentOf(state, this.now()), state.completedAt !== undefined, evidence)) {
        return { outcome: 'quarantine-restored', agentName: agent.agentName, counts };
      }
    }
    return { outcome: 'already-tripped', agentName: agent.agentName, counts };
  }

  /**
   * Puts the quarantine back when it is not on the role of a tripped agent (checked at most every
   * `quarantineCheckMs` per agent). Returns whether it had to. `loud`: record and alert it, for the
   * quarantine of a completed trip was lifted behind the breaker's back.
   */
  private async ensureQuarantined(
    agent: WatchedAgentConfig,
    incident: Incident,
    loud: boolean,
    evidence: Record<string, unknown> = {},
  ): Promise<boolean> {
    const now = this.now().getTime();
    const seen = this.quarantineSeenAt.get(agent.agentName);
    if (seen !== undefined && now - seen < this.quarantineCheckMs) return false;
    if (isQuarantine(await readQuarantine(this.clients.iam, agent.roleName)) && (await this.credentialsQuarantined(agent))) {
      this.quarantineSeenAt.set(agent.agentName, now);
      return false;
    }
    try {
      await this.quarantine(agent, incident);
    } catch (e) {
      await this.reportFailedQuarantine(agent, incident, evidence, e as Error);
      throw e;
    }
    this.quarantineSeenAt.set(agent.agentName, now);
    if (loud) {
      const at = this.now().toISOString();
      const found = 'the breaker was tripped but its quarantine was not on the role (or an approval gate credentials role)';
      const details = { ...evidence, trippedAt: incident.trippedAt, found };
      await this.store.appendLedger({
        kind: 'quarantine-restored',
        agentName: agent.agentName,
        incidentId: incident.incidentId,
        at,
        actor: 'circuit-breaker',
        details,
      });
      await publishAlert(this.clients.sns, this.config.topicArn, {
        subject: `Circuit breaker: quarantine of agent ${agent.agentName} was found lifted while tripped; re-applied`,
        agentName: agent.agentName,
        kind: 'quarantine-restored',
        body: {
          incidentId: incident.incidentId,
          restoredAt: at,
          roleArn: agent.roleArn,
          ...inertEvidence(details),
          quarantine: 'every session of the role is denied every action again, until a human resets the breaker',
          reset: resetCommand(agent.agentName, agent.roleName, this.config.tableName, this.config.credentialsRoleNames),
        },
      });
    }
    return true;
  }

  /**
   * Quarantine first (the part that stops the agent), then the ledger, then the alert. A failed
   * quarantine is never silent: the ledger records it, the alert says the agent is NOT stopped, and
   * the error is thrown so that Lambda retries (and, when retries run out, the event lands in the
   * dead-letter queue, which alarms). The incident stays uncompleted, so a later event completes it.
   */
  private async complete(agent: WatchedAgentConfig, incident: Incident, evidence: Record<string, unknown>, markCompleted = true): Promise<void> {
    try {
      await this.quarantine(agent, incident);
    } catch (e) {
      await this.reportFailedQuarantine(agent, incident, evidence, e as Error);
      throw e;
    }
    await this.store.appendLedger({
      kind: 'trip',
      agentName: agent.agentName,
      incidentId: incident.incidentId,
      at: incident.trippedAt,
      actor: incident.trippedBy,
      details: evidence,
    });
    await publishAlert(
      this.clients.sns,
      this.config.topicArn,
      tripAlert(agent, incident, evidence, this.config.tableName, undefined, this.config.credentialsRoleNames),
    );
    if (markCompleted) {
      await this.store.markCompleted(agent.agentName, incident.incidentId, this.now().toISOString());
    }
  }

  /**
   * The agent role's quarantine, then the same agent's on each approval gate credentials role (the
   * sessions it collected). Both or an error: a trip is never complete without the second.
   */
  private async quarantine(agent: WatchedAgentConfig, incident: Incident): Promise<void> {
    await writeQuarantine(this.clients.iam, agent.roleName, new Date(incident.trippedAt));
    await writeCredentialsQuarantine(this.clients.iam, this.config.credentialsRoleNames ?? [], agent.roleName);
  }

  private credentialsQuarantined(agent: WatchedAgentConfig): Promise<boolean> {
    return credentialsQuarantined(this.clients.iam, this.config.credentialsRoleNames ?? [], agent.roleName);
  }

  /** Records and announces a quarantine IAM refused; each step is tried even if the other fails. */
  private async reportFailedQuarantine(
    agent: WatchedAgentConfig,
    incident: Incident,
    evidence: Record<string, unknown>,
    error: Error,
  ): Promise<void> {
    const failure = quarantineFailure(error);
    const at = this.now().toISOString();
    const steps = await Promise.allSettled([
      this.store.appendLedger({
        kind: 'quarantine-failed',
        agentName: agent.agentName,
        incidentId: incident.incidentId,
        at,
        actor: incident.trippedBy,
        details: { ...evidence, trippedAt: incident.trippedAt, quarantine: failure },
      }),
      publishAlert(
        this.clients.sns,
        this.config.topicArn,
        tripAlert(agent, incident, evidence, this.config.tableName, failure, this.config.credentialsRoleNames),
      ),
    ]);
    for (const step of steps) {
      if (step.status === 'rejected') {
        console.error(
          JSON.stringify({
            breaker: 'quarantine-failed-and-report-failed',
            agent: agent.agentName,
            incidentId: incident.incidentId,
            quarantine: failure,
            error: String(step.reason),
          }),
        );
      }
    }
  }

  private async monitorAlert(agent: WatchedAgentConfig, counts: WindowCounts, evidence: Record<string, unknown>): Promise<ProcessResult> {
    const expiresAt = Math.floor(Date.parse(counts.windowStart) / 1000) + agent.windowSeconds + COUNTER_RETENTION_SECONDS;
    const incidentId = randomUUID();
    if (!(await this.store.claimMonitorAlert(agent.agentName, counts.windowStart, expiresAt, incidentId))) {
      return { outcome: 'already-tripped', agentName: agent.agentName, counts };
    }
    const at = this.now().toISOString();
    await this.store.appendLedger({ kind: 'monitor-alert', agentName: agent.agentName, incidentId, at, actor: 'circuit-breaker', details: evidence });
    await publishAlert(this.clients.sns, this.config.topicArn, {
      subject: `Circuit breaker (monitor only) would have tripped: agent ${agent.agentName}`,
      agentName: agent.agentName,
      kind: 'monitor-alert',
      body: { incidentId, at, roleArn: agent.roleArn, ...inertEvidence(evidence), quarantine: 'NONE: the breaker runs in monitor-only mode' },
    });
    return { outcome: 'alerted', agentName: agent.agentName, counts };
  }
}

/** The trip alert; with `failure`, it says loudly that the agent is NOT stopped. */
export function tripAlert(
  agent: WatchedAgentConfig,
  incident: Incident,
  evidence: Record<string, unknown>,
  tableName: string,
  failure?: string,
  credentialsRoleNames: readonly string[] = [],
): Alert {
  return {
    subject: failure
      ? `QUARANTINE FAILED: circuit breaker tripped but agent ${agent.agentName} is NOT stopped`
      : `Circuit breaker tripped: agent ${agent.agentName} is quarantined`,
    agentName: agent.agentName,
    kind: failure ? 'quarantine-failed' : 'trip',
    body: {
      incidentId: incident.incidentId,
      trippedAt: incident.trippedAt,
      trippedBy: incident.trippedBy,
      roleArn: agent.roleArn,
      ...inertEvidence(evidence),
      quarantine: failure ?? 'every session of the role is denied every action until a human resets the breaker',
      reset: resetCommand(agent.agentName, agent.roleName, tableName, credentialsRoleNames),
    },
  };
}

/**
 * The evidence as a person reads it in an alert: every string the agent could have influenced (its
 * session name and source identity, error codes, the event's names) rendered inert, at any depth.
 * The ledger keeps the raw values.
 */
export function inertEvidence(evidence: Record<string, unknown>): Record<string, unknown> {
  const render = (value: unknown): unknown => {
    if (typeof value === 'string') return inertText(value);
    if (Array.isArray(value)) return value.map(render);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [inertText(k, 100), render(v)]));
    return value;
  };
  return render(evidence) as Record<string, unknown>;
}

/** The incident a breaker state holds (fields that are missing read as unknown, and as tripped now). */
function incidentOf(state: BreakerState, now: Date): Incident {
  return {
    incidentId: state.incidentId ?? 'unknown',
    trippedAt: state.trippedAt ?? now.toISOString(),
    reason: state.reason ?? 'unknown',
    trippedBy: state.trippedBy ?? 'circuit-breaker',
  };
}

/** The words of a failed quarantine, as the alert and the ledger carry them. */
export function quarantineFailure(error: Error): string {
  const code = (error as { name?: string }).name;
  return (
    `QUARANTINE FAILED: ${code && code !== 'Error' ? `${code}: ` : ''}${error.message} -- the agent is NOT stopped, run \`breaker trip\` or ` +
    `remove its credentials`
  );
}

/** The counts of the last window length: this window's, plus the previous window's scaled by its overlap. */
export function slidingEstimate(current: WindowCounts, previous: WindowCounts, overlap: number): WindowCounts {
  const w = Math.min(1, Math.max(0, overlap));
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    windowStart: current.windowStart,
    writes: round(current.writes + previous.writes * w),
    destructive: round(current.destructive + previous.destructive * w),
    denied: round(current.denied + previous.denied * w),
  };
}

/** Whether counts reach half of any threshold: from there on the breaker decides on figures read consistently. */
export function nearThreshold(agent: WatchedAgentConfig, counts: WindowCounts): boolean {
  return (
    counts.destructive * 2 > agent.maxDestructiveCalls ||
    counts.denied * 2 > agent.maxDeniedCalls ||
    (agent.maxWriteCalls > 0 && counts.writes * 2 > agent.maxWriteCalls)
  );
}

/** The thresholds a window's counts exceed ("more than N"). */
export function exceededThresholds(agent: WatchedAgentConfig, counts: WindowCounts): string[] {
  const exceeded: string[] = [];
  if (counts.destructive > agent.maxDestructiveCalls)
    exceeded.push(`${counts.destructive} destructive calls (more than ${agent.maxDestructiveCalls})`);
  if (counts.denied > agent.maxDeniedCalls) exceeded.push(`${counts.denied} denied calls (more than ${agent.maxDeniedCalls})`);
  if (agent.maxWriteCalls > 0 && counts.writes > agent.maxWriteCalls)
    exceeded.push(`${counts.writes} write calls (more than ${agent.maxWriteCalls})`);
  return exceeded;
}

function eventTime(event: CloudTrailEvent, fallback: Date): Date {
  for (const candidate of [event.detail?.eventTime, event.time]) {
    const ms = candidate ? Date.parse(candidate) : NaN;
    if (Number.isFinite(ms)) return new Date(ms);
  }
  return fallback;
}

function isStale(state: BreakerState, now: Date, staleMs: number): boolean {
  const at = Date.parse(state.trippedAt ?? '');
  return !Number.isFinite(at) || now.getTime() - at >= staleMs;
}
