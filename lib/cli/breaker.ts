/**
 * `cdk-agent-guardrails breaker trip|reset|status AGENT --role-name NAME [--table TABLE] [--topic ARN]`
 *
 * The kill switch and the human reset of a circuit breaker, run with the operator's own AWS
 * credentials (the default credential chain). `trip` quarantines the agent role at once; `reset`
 * lifts the quarantine (sessions issued before the reset stay revoked) and re-arms the breaker.
 * Both record who did it in the breaker's ledger and alert the topic.
 */
import { randomUUID } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { resetCommand } from '../circuit-breaker/runtime/breaker-config';
import { liftQuarantine, publishAlert, writeQuarantine } from '../circuit-breaker/runtime/incident';
import { BreakerStore } from '../circuit-breaker/runtime/store';
import { QUARANTINE_POLICY_NAME, PolicyDocumentJson, isQuarantine } from '../circuit-breaker/runtime/breaker-quarantine';
import { parseSessionArn } from '../shared/arns';
import { parseCommandArgs, usageError } from './args';
import { CliIo, CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails breaker <trip|reset|status> AGENT --role-name ROLE
    [--table TABLE] [--topic TOPIC_ARN] [--reason TEXT] [--region REGION]
  trip    quarantine the agent role now (kill switch): every session is denied every action
  reset   lift the quarantine (sessions issued before the reset stay revoked) and re-arm the breaker; needs --table
  status  show the breaker state and whether the quarantine is in place
  --help, -h  print this usage
Runs with your own AWS credentials (the default credential chain); an agent role can never run it successfully.`;

interface Options {
  readonly verb: string;
  readonly agentName: string;
  readonly roleName: string;
  readonly table?: string;
  readonly topic?: string;
  readonly reason?: string;
  readonly region: string;
}

const SPEC = {
  command: 'breaker',
  usage: USAGE,
  maxPositionals: 2,
  options: {
    'role-name': { type: 'string' },
    'table': { type: 'string' },
    'topic': { type: 'string' },
    'reason': { type: 'string' },
    'region': { type: 'string' },
  },
} as const;

const VERBS = ['trip', 'reset', 'status'];

function parse(args: string[], io: CliIo): Options | undefined {
  const parsed = parseCommandArgs(SPEC, args, io);
  if (!parsed) return undefined;
  const {
    values,
    positionals: [verb, agentName],
  } = parsed;
  if (!verb || !VERBS.includes(verb)) {
    throw usageError(SPEC, `unknown or missing sub-command ${JSON.stringify(verb ?? '')}`, { received: verb, fix: `use one of ${VERBS.join(', ')}` });
  }
  if (!agentName || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(agentName)) {
    throw usageError(SPEC, `missing or invalid AGENT name ${JSON.stringify(agentName ?? '')}`, {
      received: agentName,
      fix: 'name the agent as its breaker does: 1 to 64 letters, digits, - and _, starting with a letter or digit',
    });
  }
  const roleName = values['role-name'];
  if (!roleName || !/^[\w+=,.@-]{1,64}$/.test(roleName)) {
    throw usageError(SPEC, `--role-name must name the agent's IAM role (got ${JSON.stringify(roleName ?? '')})`, {
      received: roleName,
      fix: 'pass --role-name ROLE with the name (not the ARN) of the agent role',
    });
  }
  if (verb === 'reset' && !values.table) {
    throw usageError(SPEC, 'reset needs --table: the breaker must be re-armed in its table, or it could never trip again', {
      fix: "pass --table TABLE, the breaker's table (the reset command in the trip alert has it)",
    });
  }
  return {
    verb,
    agentName,
    roleName,
    table: values.table,
    topic: values.topic,
    reason: values.reason,
    region: values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}

export const run: CommandHandler = async (args, io) => {
  const options = parse(args, io);
  if (!options) return EXIT.ok;
  const clients = {
    iam: new IAMClient({ region: options.region }),
    sts: new STSClient({ region: options.region }),
    dynamodb: new DynamoDBClient({ region: options.region }),
    sns: new SNSClient({ region: options.region }),
  };
  try {
    if (options.verb === 'status') return await status(options, clients, io);
    const operator = await operatorIdentity(clients.sts, options.roleName);
    return options.verb === 'trip' ? await trip(options, operator, clients, io) : await reset(options, operator, clients, io);
  } finally {
    Object.values(clients).forEach((c) => c.destroy());
  }
};

type Clients = { iam: IAMClient; sts: STSClient; dynamodb: DynamoDBClient; sns: SNSClient };

/** Who runs the command; an agent session of the role itself is refused (IAM refuses it too). */
async function operatorIdentity(sts: STSClient, roleName: string): Promise<string> {
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  const arn = identity.Arn ?? 'unknown';
  if (parseSessionArn(arn)?.roleName === roleName) {
    throw new Error(`refused: the caller ${arn} is a session of the agent role ${roleName} itself. Run this with a human operator's credentials.`);
  }
  return arn;
}

async function trip(o: Options, operator: string, c: Clients, io: CliIo): Promise<number> {
  const at = new Date();
  try {
    // The quarantine first: it is what stops the agent.
    await writeQuarantine(c.iam, o.roleName, at);
  } catch (e) {
    io.err(`agent ${o.agentName} is NOT quarantined: IAM refused the quarantine policy on role ${o.roleName}: ${(e as Error).message}`);
    return EXIT.remote;
  }
  io.out(`agent ${o.agentName} quarantined at ${at.toISOString()}: every session of role ${o.roleName} is now denied every action.`);
  const incidentId = `manual-${at.getTime()}`;
  const reason = o.reason ?? 'manual trip (kill switch)';
  let followUpFailed = false;
  if (o.table) {
    try {
      const store = new BreakerStore(c.dynamodb, o.table);
      // A human's trip overrides a reset under way: that reset then sees the trip and re-applies the quarantine.
      const claimed = await store.claimIncident(
        o.agentName,
        { incidentId, trippedAt: at.toISOString(), reason, trippedBy: operator },
        {
          overResetStartedBefore: '9999-12-31T23:59:59.999Z',
        },
      );
      if (claimed) {
        // Again, now that the trip is recorded: a reset finishing between the first write and the
        // claim may have lifted it. From the claim on, no reset can close without seeing this trip.
        await writeQuarantine(c.iam, o.roleName, at);
      }
      await store.appendLedger({
        kind: 'manual-trip',
        agentName: o.agentName,
        incidentId,
        at: at.toISOString(),
        actor: operator,
        details: { reason, roleName: o.roleName, alreadyTripped: !claimed },
      });
      if (claimed) await store.markCompleted(o.agentName, incidentId, new Date().toISOString());
      io.out(
        claimed
          ? `breaker state: tripped by ${operator} (incident ${incidentId})`
          : 'breaker state: was already tripped; the manual trip is recorded in the ledger',
      );
    } catch (e) {
      followUpFailed = true;
      io.err(`the quarantine is in place, but recording the trip in table ${o.table} failed: ${(e as Error).message}`);
    }
  }
  if (o.topic) {
    try {
      await publishAlert(c.sns, o.topic, {
        subject: `Circuit breaker tripped by hand: agent ${o.agentName} is quarantined`,
        agentName: o.agentName,
        kind: 'manual-trip',
        body: {
          incidentId,
          trippedAt: at.toISOString(),
          trippedBy: operator,
          reason,
          reset: o.table ? resetCommand(o.agentName, o.roleName, o.table) : undefined,
        },
      });
    } catch (e) {
      followUpFailed = true;
      io.err(`the quarantine is in place, but the alert to ${o.topic} failed: ${(e as Error).message}`);
    }
  }
  if (o.table) {
    io.out(`to reset: ${resetCommand(o.agentName, o.roleName, o.table)}`);
  } else {
    io.err(
      'no --table given: the trip is not recorded in the breaker ledger, and the breaker state still reads closed. ' +
        'Run it again with --table to record it.',
    );
  }
  return followUpFailed ? EXIT.remote : EXIT.ok;
}

/**
 * A reset moves the breaker through `resetting`: no trip can claim an incident while the reset
 * lifts the quarantine (one that would have is recorded as pending on the reset), and the breaker
 * closes only after the lift, only if nothing tripped meanwhile. Otherwise the reset puts the
 * quarantine back and fails: the agent ends quarantined whatever the interleaving.
 */
async function reset(o: Options, operator: string, c: Clients, io: CliIo): Promise<number> {
  const store = new BreakerStore(c.dynamodb, o.table!);
  const at = new Date();
  const resetId = randomUUID();
  const previous = await store.beginReset(o.agentName, resetId, operator, at.toISOString());
  const incidentId = previous?.incidentId ?? 'none';
  try {
    // The incident's calls stop counting, or the re-armed breaker would trip on them at once.
    await store.rebaseWindows(o.agentName);
    await liftQuarantine(c.iam, o.roleName, at);
  } catch (e) {
    io.err(`the quarantine of agent ${o.agentName} is still in place: the reset failed on role ${o.roleName}: ${(e as Error).message}`);
    await abortReset(o, resetId, operator, at, c, io, `the reset failed: ${(e as Error).message}`);
    return EXIT.remote;
  }
  if (!(await store.finishReset(o.agentName, resetId))) {
    const quarantined = await abortReset(o, resetId, operator, at, c, io, 'the breaker tripped again while the reset was under way');
    io.err(
      quarantined
        ? `reset of agent ${o.agentName} ABORTED: the breaker tripped again while the reset was under way; the agent is quarantined again. ` +
            'Find out why before resetting again.'
        : `reset of agent ${o.agentName} NOT done: another reset took over while this one was under way; it decides the outcome. ` +
            'Run status to see it.',
    );
    return EXIT.remote;
  }
  await store.appendLedger({
    kind: 'reset',
    agentName: o.agentName,
    incidentId,
    at: at.toISOString(),
    actor: operator,
    details: { reason: o.reason ?? 'human reset', roleName: o.roleName, previousState: previous?.state ?? 'none', trippedAt: previous?.trippedAt },
  });
  io.out(
    `agent ${o.agentName} reset at ${at.toISOString()} by ${operator}: the quarantine is lifted; ` +
      'sessions issued before now stay revoked, new sessions work. The breaker is armed again.',
  );
  if (o.topic) {
    await publishAlert(c.sns, o.topic, {
      subject: `Circuit breaker reset: agent ${o.agentName}`,
      agentName: o.agentName,
      kind: 'reset',
      body: { incidentId, resetAt: at.toISOString(), resetBy: operator, reason: o.reason ?? 'human reset' },
    });
  }
  return EXIT.ok;
}

/**
 * Ends a reset that must not close the breaker. Unless another reset has taken over, the breaker
 * is tripped (on the trip that happened during the reset, if any) and the quarantine re-applied:
 * this reset may have lifted it after the trip wrote it. Returns whether the agent is quarantined.
 */
async function abortReset(o: Options, resetId: string, operator: string, at: Date, c: Clients, io: CliIo, why: string): Promise<boolean> {
  const store = new BreakerStore(c.dynamodb, o.table!);
  const state = await store.state(o.agentName);
  if (state?.state === 'resetting' && state.resetId === resetId) {
    const moved = state.pendingIncident
      ? await store.promotePendingTrip(o.agentName, resetId, state.pendingIncident)
      : await store.revertReset(o.agentName, resetId);
    if (!moved) return abortReset(o, resetId, operator, at, c, io, why);
  } else if (state?.state !== 'tripped') {
    // Another reset (or its end) owns the breaker now; it closes or re-quarantines as it finds.
    return false;
  }
  const current = (await store.state(o.agentName))!;
  const incident = state?.pendingIncident ?? current;
  try {
    await writeQuarantine(c.iam, o.roleName, new Date(incident.trippedAt ?? at.toISOString()));
  } catch (e) {
    io.err(
      `agent ${o.agentName} may NOT be quarantined: IAM refused to re-apply the quarantine on role ${o.roleName}: ${(e as Error).message}. ` +
        "Run breaker trip, or remove the agent's credentials.",
    );
    throw e;
  }
  if (current.incidentId) await store.markCompleted(o.agentName, current.incidentId, new Date().toISOString());
  await store.appendLedger({
    kind: 'reset-aborted',
    agentName: o.agentName,
    incidentId: current.incidentId ?? 'none',
    at: at.toISOString(),
    actor: operator,
    details: { why, roleName: o.roleName, resetId, incident: current.incidentId, trippedBy: current.trippedBy, reason: current.reason },
  });
  if (o.topic) {
    await publishAlert(c.sns, o.topic, {
      subject: `Circuit breaker reset aborted: agent ${o.agentName} is quarantined`,
      agentName: o.agentName,
      kind: 'reset-aborted',
      body: {
        why,
        incidentId: current.incidentId,
        trippedAt: current.trippedAt,
        trippedBy: current.trippedBy,
        reason: current.reason,
        resetBy: operator,
        quarantine: 'every session of the role is denied every action until a human resets the breaker',
      },
    });
  }
  return true;
}

async function status(o: Options, c: Clients, io: CliIo): Promise<number> {
  let document: PolicyDocumentJson | undefined;
  try {
    const policy = await c.iam.send(new GetRolePolicyCommand({ RoleName: o.roleName, PolicyName: QUARANTINE_POLICY_NAME }));
    document = JSON.parse(decodeURIComponent(policy.PolicyDocument ?? '')) as PolicyDocumentJson;
  } catch (e) {
    if ((e as { name?: string }).name !== 'NoSuchEntityException') throw e;
  }
  const quarantined = isQuarantine(document);
  io.out(`role ${o.roleName}: ${quarantined ? 'QUARANTINED (every session denied every action)' : 'not quarantined'}`);
  if (o.table) {
    const state = await new BreakerStore(c.dynamodb, o.table).state(o.agentName);
    const since =
      state?.state === 'tripped'
        ? ` since ${state.trippedAt} by ${state.trippedBy}: ${state.reason}`
        : state?.state === 'resetting'
          ? ` since ${state.resetAt} by ${state.resetBy}${state.pendingIncident ? ` (tripped again meanwhile: ${state.pendingIncident.reason})` : ''}`
          : '';
    io.out(`breaker ${o.agentName}: ${state?.state ?? 'closed (never tripped)'}${since}`);
  }
  return quarantined ? EXIT.findings : EXIT.ok;
}
