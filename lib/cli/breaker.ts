/**
 * `cdk-agent-guardrails breaker trip|reset|status AGENT --role-name NAME [--table TABLE] [--topic ARN]`
 *
 * The kill switch and the human reset of a circuit breaker, run with the operator's own AWS
 * credentials (the default credential chain). `trip` quarantines the agent role at once; `reset`
 * lifts the quarantine (sessions issued before the reset stay revoked) and re-arms the breaker.
 * Both record who did it in the breaker's ledger and alert the topic.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { liftQuarantine, publishAlert, resetCommand, writeQuarantine } from '../handlers/breaker/incident';
import { BreakerStore } from '../handlers/breaker/store';
import { QUARANTINE_POLICY_NAME, PolicyDocumentJson, isQuarantine } from '../private/breaker-quarantine';
import { CliIo, CommandHandler, EXIT } from './main';

const USAGE = [
  'usage: cdk-agent-guardrails breaker <trip|reset|status> AGENT --role-name ROLE [--table TABLE] [--topic TOPIC_ARN] [--reason TEXT] [--region REGION]',
  '  trip    quarantine the agent role now (kill switch): every session is denied every action',
  '  reset   lift the quarantine (sessions issued before the reset stay revoked) and re-arm the breaker; needs --table',
  '  status  show the breaker state and whether the quarantine is in place',
  'Runs with your own AWS credentials (the default credential chain); an agent role can never run it successfully.',
];

interface Options {
  readonly verb: string;
  readonly agentName: string;
  readonly roleName: string;
  readonly table?: string;
  readonly topic?: string;
  readonly reason?: string;
  readonly region: string;
}

function parse(args: string[]): Options | string {
  const [verb, agentName, ...rest] = args;
  if (!verb || !['trip', 'reset', 'status'].includes(verb)) return `unknown or missing sub-command ${JSON.stringify(verb ?? '')}`;
  if (!agentName || agentName.startsWith('--') || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(agentName)) return `missing or invalid AGENT name ${JSON.stringify(agentName ?? '')}`;
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (!['--role-name', '--table', '--topic', '--reason', '--region'].includes(flag)) return `unknown option ${JSON.stringify(flag)}`;
    if (value === undefined || value.startsWith('--')) return `option ${flag} needs a value`;
    flags[flag.slice(2)] = value;
  }
  if (!flags['role-name'] || !/^[\w+=,.@-]{1,64}$/.test(flags['role-name'])) return `--role-name must name the agent's IAM role (got ${JSON.stringify(flags['role-name'] ?? '')})`;
  if (verb === 'reset' && !flags.table) return 'reset needs --table: the breaker must be re-armed in its table, or it could never trip again';
  return {
    verb,
    agentName,
    roleName: flags['role-name'],
    table: flags.table,
    topic: flags.topic,
    reason: flags.reason,
    region: flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}

export const run: CommandHandler = async (args, io) => {
  const options = parse(args);
  if (typeof options === 'string') {
    io.err(options);
    USAGE.forEach((l) => io.err(l));
    return EXIT.usage;
  }
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
  if (arn.includes(`:assumed-role/${roleName}/`)) {
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
      const claimed = await store.claimIncident(o.agentName, { incidentId, trippedAt: at.toISOString(), reason, trippedBy: operator });
      await store.appendLedger({ kind: 'manual-trip', agentName: o.agentName, incidentId, at: at.toISOString(), actor: operator, details: { reason, roleName: o.roleName, alreadyTripped: !claimed } });
      if (claimed) await store.markCompleted(o.agentName, incidentId, new Date().toISOString());
      io.out(claimed ? `breaker state: tripped by ${operator} (incident ${incidentId})` : 'breaker state: was already tripped; the manual trip is recorded in the ledger');
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
        body: { incidentId, trippedAt: at.toISOString(), trippedBy: operator, reason, reset: o.table ? resetCommand(o.agentName, o.roleName, o.table) : undefined },
      });
    } catch (e) {
      followUpFailed = true;
      io.err(`the quarantine is in place, but the alert to ${o.topic} failed: ${(e as Error).message}`);
    }
  }
  if (o.table) {
    io.out(`to reset: ${resetCommand(o.agentName, o.roleName, o.table)}`);
  } else {
    io.err('no --table given: the trip is not recorded in the breaker ledger, and the breaker state still reads closed. Run it again with --table to record it.');
  }
  return followUpFailed ? EXIT.remote : EXIT.ok;
}

async function reset(o: Options, operator: string, c: Clients, io: CliIo): Promise<number> {
  const store = new BreakerStore(c.dynamodb, o.table!);
  const at = new Date();
  // Re-arm first: should lifting the quarantine then fail, the agent stays quarantined (fail closed).
  const previous = await store.close(o.agentName, operator, at.toISOString());
  // The incident's calls stop counting, or the re-armed breaker would trip on them at once.
  await store.rebaseWindows(o.agentName);
  try {
    await liftQuarantine(c.iam, o.roleName, at);
  } catch (e) {
    io.err(`the quarantine of agent ${o.agentName} is still in place: IAM refused to lift it on role ${o.roleName}: ${(e as Error).message}`);
    return EXIT.remote;
  }
  const incidentId = previous?.incidentId ?? 'none';
  await store.appendLedger({ kind: 'reset', agentName: o.agentName, incidentId, at: at.toISOString(), actor: operator, details: { reason: o.reason ?? 'human reset', roleName: o.roleName, previousState: previous?.state ?? 'none', trippedAt: previous?.trippedAt } });
  io.out(`agent ${o.agentName} reset at ${at.toISOString()} by ${operator}: the quarantine is lifted; sessions issued before now stay revoked, new sessions work. The breaker is armed again.`);
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
    io.out(`breaker ${o.agentName}: ${state?.state ?? 'closed (never tripped)'}${state?.state === 'tripped' ? ` since ${state.trippedAt} by ${state.trippedBy}: ${state.reason}` : ''}`);
  }
  return quarantined ? EXIT.findings : EXIT.ok;
}
