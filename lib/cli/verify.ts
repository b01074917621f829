import * as fs from 'fs';
import * as path from 'path';
import { AgentModel, findAgents, otherRoles } from '../verify/model/agents';
import { findApprovalGates } from '../verify/model/approval-gates';
import { VerifyReport, analyse } from '../verify/analysis/analysis';
import { AssemblyModel, readAssembly } from '../verify/model/assembly';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';
import { LiveDecider, iamClient, readLiveRole } from '../verify/deciders/live';
import { OfflineDecider } from '../verify/deciders/offline-decider';
import { DEFAULT_PRODUCTION_MODEL, ProductionModel, ResourceModel, findResources } from '../verify/model/production-resources';
import { renderHtml } from '../verify/reports/report-html';
import { findResourcePolicies, resourceGrantsFor } from '../verify/model/resource-policies';
import { renderMarkdown, renderTerminal } from '../verify/reports/report-text';
import { UNKNOWN_ACCOUNT } from '../verify/model/template-values';
import { commaList, parseCommandArgs, usageError } from './args';
import { CliIo, CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails verify [cdk.out] [options]
  --json               print the report as JSON
  --markdown           print the report as Markdown (for a pull request comment)
  --html FILE          also write an HTML report with the agent x resource matrix
  --agent ROLE         treat ROLE (logical ID, construct path, role name or ARN) as an agent; repeatable
  --tag-key KEY        the tag that marks non-production resources (default environment)
  --non-production V,W values of that tag that mean disposable (default dev,development,test,sandbox,ephemeral)
  --live               ask IAM's policy simulator about a deployed role instead of evaluating offline
  --role-arn ARN       with --live: the deployed agent role; repeatable
  --region REGION      with --live: the IAM client's region (default us-east-1)
  --endpoint URL       with --live: the IAM endpoint (for tests and private endpoints)
  --help, -h           print this usage
exit codes: 0 clean, 1 an agent can destroy production or escalate (or depends on an UNKNOWN policy),
  2 usage, 3 missing or corrupt cdk.out, 4 IAM call failed (--live), 5 no agent role, 6 a policy does not parse`;

interface VerifyArgs {
  readonly assembly: string;
  readonly format: 'table' | 'json' | 'markdown';
  readonly html?: string;
  readonly agents: string[];
  readonly model: ProductionModel;
  readonly live: boolean;
  readonly roleArns: string[];
  readonly region: string;
  readonly endpoint?: string;
}

const SPEC = {
  command: 'verify',
  usage: USAGE,
  maxPositionals: 1,
  options: {
    'json': { type: 'boolean' },
    'markdown': { type: 'boolean' },
    'html': { type: 'string' },
    'agent': { type: 'string', multiple: true },
    'tag-key': { type: 'string' },
    'non-production': { type: 'string' },
    'live': { type: 'boolean' },
    'role-arn': { type: 'string', multiple: true },
    'region': { type: 'string' },
    'endpoint': { type: 'string' },
  },
} as const;

function verifyArgs(argv: string[], io: CliIo): VerifyArgs | undefined {
  const parsed = parseCommandArgs(SPEC, argv, io);
  if (!parsed) return undefined;
  const { values, positionals } = parsed;
  if (values.json && values.markdown) {
    throw usageError(SPEC, '--json and --markdown both given', { received: '--json --markdown', fix: 'choose one report format' });
  }
  const live = values.live ?? false;
  const roleArns = values['role-arn'] ?? [];
  const nonProduction =
    values['non-production'] === undefined
      ? DEFAULT_PRODUCTION_MODEL.nonProductionValues
      : commaList(values['non-production']).map((v) => v.toLowerCase());
  if (live && roleArns.length === 0) {
    throw usageError(SPEC, '--live needs --role-arn ARN: the deployed role to ask IAM about', {
      received: '--live without --role-arn',
      fix: 'add --role-arn arn:aws:iam::ACCOUNT:role/NAME (repeatable)',
    });
  }
  if (!live && (roleArns.length > 0 || values.endpoint !== undefined)) {
    throw usageError(SPEC, '--role-arn and --endpoint go with --live', {
      received: roleArns.length > 0 ? '--role-arn without --live' : '--endpoint without --live',
      fix: 'add --live, or drop --role-arn and --endpoint to verify offline',
    });
  }
  if (nonProduction.length === 0) {
    throw usageError(SPEC, `--non-production needs at least one tag value, got ${JSON.stringify(values['non-production'])}`, {
      received: values['non-production'],
      fix: 'pass the values that mean disposable, for example --non-production dev,test',
      withUsage: false,
    });
  }
  return {
    assembly: positionals[0] ?? 'cdk.out',
    format: values.json ? 'json' : values.markdown ? 'markdown' : 'table',
    html: values.html,
    agents: values.agent ?? [],
    model: { tagKey: values['tag-key'] ?? DEFAULT_PRODUCTION_MODEL.tagKey, nonProductionValues: nonProduction },
    live,
    roleArns,
    region: values.region ?? 'us-east-1',
    endpoint: values.endpoint,
  };
}

/** Progress on stderr for large assemblies: every tenth of the agents. */
function progress(io: CliIo, total: number): ((done: number, total: number) => void) | undefined {
  if (total < 10) return undefined;
  const step = Math.ceil(total / 10);
  const start = Date.now();
  return (done) => {
    if (done % step === 0 || done === total) {
      io.err(`verify: ${done}/${total} agents evaluated (${Math.round((done / total) * 100)}%, ${((Date.now() - start) / 1000).toFixed(1)}s)`);
    }
  };
}

/** Offline: everything from the assembly. */
export async function verifyAssembly(args: VerifyArgs, io: CliIo): Promise<VerifyReport> {
  const assembly = readAssembly(args.assembly);
  const agents = findAgents(assembly, args.agents);
  if (agents.length === 0) {
    throw new GuardrailsError(
      GuardrailsErrorKind.NO_AGENTS,
      `no agent role in the cloud assembly at ${assembly.directory}: ` +
        'no role is tagged guardrails:agent or trusted by an agent service (bedrock.amazonaws.com, bedrock-agentcore.amazonaws.com, ...). ' +
        'Use AgentRole for your agents, or name the roles they use with --agent <logical ID | role name | construct path>. ' +
        'Nothing verified is not a pass.',
    );
  }
  const inventory = findResources(assembly, args.model);
  return analyse({
    assembly: assembly.directory,
    mode: 'offline',
    agents,
    production: inventory.production,
    nonProduction: inventory.nonProduction,
    notAssessed: inventory.notAssessed,
    otherRoleArns: otherRoles(assembly, agents),
    gates: findApprovalGates(assembly),
    model: args.model,
    decider: new OfflineDecider({ key: args.model.tagKey, value: args.model.nonProductionValues[0] }),
    onProgress: progress(io, agents.length),
  });
}

/** Live: the deployed roles, the production resources of the assembly when there is one. */
async function verifyLive(args: VerifyArgs, io: CliIo): Promise<VerifyReport> {
  const client = iamClient({ roleArn: args.roleArns[0], region: args.region, endpoint: args.endpoint });
  const agents: AgentModel[] = [];
  for (const roleArn of args.roleArns) agents.push(await readLiveRole(client, { roleArn, region: args.region, endpoint: args.endpoint }));
  const warnings: string[] = [];
  let assembly: AssemblyModel | undefined;
  if (fs.existsSync(path.join(args.assembly, 'manifest.json'))) {
    assembly = readAssembly(args.assembly);
  } else {
    warnings.push(
      `no cloud assembly at ${path.resolve(args.assembly)}: only escalation and tampering paths were checked. ` +
        'Pass the cdk.out of the deployed app to check its production resources.',
    );
  }
  const inventory = assembly ? findResources(assembly, args.model) : { production: [], notAssessed: {} };
  // An environment-agnostic app deploys into the role's account.
  const account = agents[0].stack.env.account;
  const production: ResourceModel[] = inventory.production.map((r) => ({ ...r, arn: r.arn.replace(`:${UNKNOWN_ACCOUNT}:`, `:${account}:`) }));
  // The app's resource-based policies, as deployed into the role's account.
  const deployed = <T>(value: T): T =>
    JSON.parse(
      JSON.stringify(value ?? null)
        .split(`:${UNKNOWN_ACCOUNT}:`)
        .join(`:${account}:`),
    ) ?? undefined;
  const resourcePolicies = assembly
    ? findResourcePolicies(assembly).map((p) => ({ ...p, document: deployed(p.document), governs: deployed(p.governs) }))
    : [];
  const liveAgents = agents.map((agent) => ({ ...agent, resourceGrants: resourceGrantsFor(resourcePolicies, agent.roleArn) }));
  const decider = new LiveDecider(client, { key: args.model.tagKey, value: args.model.nonProductionValues[0] });
  const report = await analyse({
    assembly: assembly?.directory ?? path.resolve(args.assembly),
    mode: 'live',
    agents: liveAgents,
    production,
    notAssessed: inventory.notAssessed,
    otherRoleArns: [],
    gates: assembly
      ? findApprovalGates(assembly).map((g) => ({ ...g, stateMachineArn: g.stateMachineArn.replace(`:${UNKNOWN_ACCOUNT}:`, `:${account}:`) }))
      : [],
    model: args.model,
    decider,
    onProgress: progress(io, agents.length),
    warnings,
  });
  io.err(`verify --live: ${decider.calls} SimulatePrincipalPolicy call(s)`);
  return report;
}

export const run: CommandHandler = async (argv, io) => {
  const args = verifyArgs(argv, io);
  if (!args) return EXIT.ok;
  const report = args.live ? await verifyLive(args, io) : await verifyAssembly(args, io);
  if (args.format === 'json') io.out(JSON.stringify(report, null, 2));
  else if (args.format === 'markdown') io.out(renderMarkdown(report));
  else for (const line of renderTerminal(report)) io.out(line);
  if (args.html) {
    fs.mkdirSync(path.dirname(path.resolve(args.html)), { recursive: true });
    fs.writeFileSync(args.html, renderHtml(report));
    io.err(`verify: wrote the HTML report to ${args.html}`);
  }
  return report.summary.clean ? EXIT.ok : EXIT.findings;
};
