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
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { resetCommand } from '../circuit-breaker/runtime/breaker-config';
import { publishAlert, readQuarantine, writeCredentialsQuarantine, writeQuarantine } from '../circuit-breaker/runtime/incident';
import { resetBreaker } from '../circuit-breaker/runtime/reset';
import { BreakerStore } from '../circuit-breaker/runtime/store';
import { isQuarantine } from '../circuit-breaker/runtime/breaker-quarantine';
import { inertText } from '../shared/inert-text';
import { parseSessionArn } from '../shared/arns';
import { commaList, parseCommandArgs, usageError } from './args';
import { CliIo, CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails breaker <trip|reset|status> AGENT --role-name ROLE
    [--table TABLE] [--topic TOPIC_ARN] [--reason TEXT] [--region REGION] [--credentials-roles ROLE,ROLE]
  trip    quarantine the agent role now (kill switch): every session is denied every action
  reset   lift the quarantine (sessions issued before the reset stay revoked) and re-arm the breaker; needs --table
  status  show the breaker state and whether the quarantine is in place
  --credentials-roles  the approval gates' credentials roles the breaker watches (its credentialsRoles): trip also revokes the
              agent's approval-bound sessions there, reset lifts that too (the reset command in the trip alert lists them)
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
  readonly credentialsRoles: readonly string[];
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
    'credentials-roles': { type: 'string' },
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
  const credentialsRoles = values['credentials-roles'] === undefined ? [] : commaList(values['credentials-roles']);
  const badRole = credentialsRoles.find((r) => !/^[\w+=,.@-]{1,64}$/.test(r) || r === roleName);
  if (badRole !== undefined) {
    throw usageError(SPEC, `--credentials-roles must name approval gates' credentials roles (got ${JSON.stringify(badRole)})`, {
      received: badRole,
      fix: "pass the role names (not ARNs), comma-separated, of the gates' credentialsRole, as the breaker's reset command lists them",
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
    credentialsRoles,
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
    io.err(
      `agent ${o.agentName} is NOT quarantined: IAM refused the quarantine policy on role ${o.roleName}: ${inertText((e as Error).message, 1000)}`,
    );
    return EXIT.remote;
  }
  io.out(`agent ${o.agentName} quarantined at ${at.toISOString()}: every session of role ${o.roleName} is now denied every action.`);
  if (o.credentialsRoles.length > 0) {
    try {
      await writeCredentialsQuarantine(c.iam, o.credentialsRoles, o.roleName);
      io.out(`its approval-bound sessions of ${o.credentialsRoles.join(', ')} are denied every action too.`);
    } catch (e) {
      io.err(
        `agent ${o.agentName}'s approval-bound sessions are NOT revoked: IAM refused the quarantine on ${o.credentialsRoles.join(', ')}: ` +
          `${inertText((e as Error).message, 1000)}. Run the trip again.`,
      );
      return EXIT.remote;
    }
  }
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
        await writeCredentialsQuarantine(c.iam, o.credentialsRoles, o.roleName);
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
          ? `breaker state: tripped by ${inertText(operator)} (incident ${incidentId})`
          : 'breaker state: was already tripped; the manual trip is recorded in the ledger',
      );
    } catch (e) {
      followUpFailed = true;
      io.err(`the quarantine is in place, but recording the trip in table ${o.table} failed: ${inertText((e as Error).message, 1000)}`);
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
          reset: o.table ? resetCommand(o.agentName, o.roleName, o.table, o.credentialsRoles) : undefined,
        },
      });
    } catch (e) {
      followUpFailed = true;
      io.err(`the quarantine is in place, but the alert to ${o.topic} failed: ${inertText((e as Error).message, 1000)}`);
    }
  }
  if (o.table) {
    io.out(`to reset: ${resetCommand(o.agentName, o.roleName, o.table, o.credentialsRoles)}`);
  } else {
    io.err(
      'no --table given: the trip is not recorded in the breaker ledger, and the breaker state still reads closed. ' +
        'Run it again with --table to record it.',
    );
  }
  return followUpFailed ? EXIT.remote : EXIT.ok;
}

/** A reset as `resetBreaker` runs it: every failure point leaves the agent quarantined, and says so. */
async function reset(o: Options, operator: string, c: Clients, io: CliIo): Promise<number> {
  const at = new Date();
  const result = await resetBreaker(
    {
      agentName: o.agentName,
      roleName: o.roleName,
      tableName: o.table!,
      resetBy: operator,
      reason: o.reason,
      topicArn: o.topic,
      resetId: randomUUID(),
      at,
      credentialsRoleNames: o.credentialsRoles,
    },
    c,
  );
  for (const problem of result.problems) io.err(inertText(problem, 1000));
  const why = inertText(result.why ?? '', 1000);
  switch (result.outcome) {
    case 'reset':
      io.out(
        `agent ${o.agentName} reset at ${at.toISOString()} by ${inertText(operator)}: the quarantine is lifted; ` +
          'sessions issued before now stay revoked, new sessions work. The breaker is armed again.',
      );
      return result.problems.length > 0 ? EXIT.remote : EXIT.ok;
    case 'aborted':
      io.err(
        result.quarantined === 'yes'
          ? `reset of agent ${o.agentName} ABORTED: ${why}; the quarantine of agent ${o.agentName} is still in place (the breaker is tripped). ` +
              'Find out why before resetting again.'
          : `reset of agent ${o.agentName} ABORTED: ${why}; agent ${o.agentName} may NOT be quarantined. ` +
              "Run breaker trip, or remove the agent's credentials.",
      );
      return EXIT.remote;
    case 'superseded':
      io.err(
        `reset of agent ${o.agentName} NOT done: another reset took over while this one was under way; it decides the outcome. ` +
          'Run status to see it.',
      );
      return EXIT.remote;
    default:
      io.err(`reset of agent ${o.agentName} NOT done: ${why}. This reset lifted nothing; run status, then reset again.`);
      return EXIT.remote;
  }
}

async function status(o: Options, c: Clients, io: CliIo): Promise<number> {
  const quarantined = isQuarantine(await readQuarantine(c.iam, o.roleName));
  io.out(`role ${o.roleName}: ${quarantined ? 'QUARANTINED (every session denied every action)' : 'not quarantined'}`);
  if (o.table) {
    const state = await new BreakerStore(c.dynamodb, o.table).state(o.agentName);
    // The table's text (who, why) is shown inert: a reason can quote what an agent wrote.
    const since =
      state?.state === 'tripped'
        ? ` since ${inertText(state.trippedAt)} by ${inertText(state.trippedBy)}: ${inertText(state.reason)}`
        : state?.state === 'resetting'
          ? ` since ${inertText(state.resetAt)} by ${inertText(state.resetBy)}` +
            (state.pendingIncident ? ` (tripped again meanwhile: ${inertText(state.pendingIncident.reason)})` : '')
          : '';
    io.out(`breaker ${o.agentName}: ${state?.state ?? 'closed (never tripped)'}${since}`);
    if (state?.state === 'tripped' && !quarantined) {
      // A reset that died after lifting over a trip: the handler repairs it on the agent's next call.
      io.err(`MISMATCH: the breaker of agent ${o.agentName} is tripped but its quarantine is NOT on role ${o.roleName}. Run breaker trip.`);
    }
  }
  return quarantined ? EXIT.findings : EXIT.ok;
}
