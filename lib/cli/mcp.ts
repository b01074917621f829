/**
 * `cdk-agent-guardrails mcp`: the guardrails as an MCP server over stdio, for the agent runtime to
 * start (Claude Code, Kiro, Cursor, ...). stdout carries the protocol only; everything else goes
 * to stderr. A missing assembly or unknown agent is reported at start with the fix, and every tool
 * call then answers with that error (the server keeps running, and reads the assembly again after
 * `cdk synth`).
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createGuardrailsMcpServer } from '../mcp/mcp-server';
import { toolErrorText } from '../mcp/private/tool-input';
import { DEFAULT_PRODUCTION_MODEL } from '../verify/model/production-resources';
import { commaList, parseCommandArgs, usageError } from './args';
import { CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails mcp [options]
  --assembly DIR       the cloud assembly to answer from (default cdk.out)
  --agent NAME         the agent the server speaks for: its name, role name, logical ID, construct path or ARN
                       (needed when the assembly holds several agents)
  --tag-key KEY        the tag that marks non-production resources (default environment)
  --non-production V,W values of that tag that mean disposable (default dev,development,test,sandbox,ephemeral)
  --live               ask IAM's policy simulator about the deployed role instead of evaluating offline
  --role-arn ARN       with --live: the deployed agent role
  --region REGION      the region of the IAM client (default us-east-1) and of breaker_status
  --endpoint URL       with --live: the IAM endpoint (for tests and private endpoints)
  --source-identity ID what approval requests state as the session's source identity (default the agent's name)
  --help, -h           print this usage
Speaks MCP over stdin/stdout; register it with your agent runtime (see docs/mcp.md). AWS calls use the default
credential chain of the process (the agent's own credentials); the server never reads or prints them.`;

const SPEC = {
  command: 'mcp',
  usage: USAGE,
  options: {
    'assembly': { type: 'string' },
    'agent': { type: 'string' },
    'tag-key': { type: 'string' },
    'non-production': { type: 'string' },
    'live': { type: 'boolean' },
    'role-arn': { type: 'string' },
    'region': { type: 'string' },
    'endpoint': { type: 'string' },
    'source-identity': { type: 'string' },
  },
} as const;

export const run: CommandHandler = async (argv, io) => {
  const parsed = parseCommandArgs(SPEC, argv, io);
  if (!parsed) return EXIT.ok;
  const { values } = parsed;
  const live = values.live ?? false;
  if (live && !values['role-arn']) {
    throw usageError(SPEC, '--live needs --role-arn ARN: the deployed role to ask IAM about', {
      received: '--live without --role-arn', fix: 'add --role-arn arn:aws:iam::ACCOUNT:role/NAME',
    });
  }
  if (!live && (values['role-arn'] !== undefined || values.endpoint !== undefined)) {
    throw usageError(SPEC, '--role-arn and --endpoint go with --live', {
      received: values['role-arn'] !== undefined ? '--role-arn without --live' : '--endpoint without --live',
      fix: 'add --live, or drop --role-arn and --endpoint to answer offline from the assembly',
    });
  }
  if (live && !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(values['role-arn']!)) {
    throw usageError(SPEC, `--role-arn ${JSON.stringify(values['role-arn'])} is not a role ARN`, {
      received: values['role-arn'], fix: 'pass arn:aws:iam::<account>:role/<name>', withUsage: false,
    });
  }
  const nonProduction = values['non-production'] === undefined
    ? DEFAULT_PRODUCTION_MODEL.nonProductionValues
    : commaList(values['non-production']).map((v) => v.toLowerCase());
  if (nonProduction.length === 0) {
    throw usageError(SPEC, `--non-production needs at least one tag value, got ${JSON.stringify(values['non-production'])}`, {
      received: values['non-production'], fix: 'pass the values that mean disposable, for example --non-production dev,test', withUsage: false,
    });
  }
  // stdout is the protocol: anything a library logs goes to stderr instead.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;

  const mcp = createGuardrailsMcpServer({
    assembly: values.assembly ?? 'cdk.out',
    agent: values.agent,
    live,
    roleArn: values['role-arn'],
    region: values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: values.endpoint,
    model: { tagKey: values['tag-key'] ?? DEFAULT_PRODUCTION_MODEL.tagKey, nonProductionValues: nonProduction },
    sourceIdentity: values['source-identity'],
  });
  try {
    const k = await mcp.knowledge.get();
    io.err(`cdk-agent-guardrails mcp: answering for agent ${k.agent.name} (${k.agent.roleArn}) from ${k.mode === 'live'
      ? 'IAM\'s policy simulator' : `the cloud assembly at ${k.assemblyDirectory}`}`);
    for (const w of k.warnings) io.err(`cdk-agent-guardrails mcp: ${w}`);
  } catch (e) {
    // Served anyway: every tool then answers with this error, and the next call after `cdk synth` reads the assembly again.
    io.err(`cdk-agent-guardrails mcp: ${toolErrorText(e)}`);
  }
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  await mcp.server.connect(transport);
  await closed;
  await mcp.close();
  return EXIT.ok;
};
