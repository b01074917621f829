import * as fs from 'fs';
import * as path from 'path';
import { ProductionProtection } from '../guard/production-protection';
import { ProductionScope } from '../guard/production-scope';
import { AgentPrincipals } from '../organization/agent-principals';
import { DEFAULT_BUDGET, renderOrganizationPolicies, reportLines } from '../organization/private/render';
import { AGENT_TAG, DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../shared/tags';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';
import { commaList, parseCommandArgs, usageError } from './args';
import { CommandHandler, EXIT } from './command';

const DEFAULT = `scps=${DEFAULT_BUDGET.serviceControlPolicies},rcps=${DEFAULT_BUDGET.resourceControlPolicies},chars=${DEFAULT_BUDGET.maxCharacters}`;

const USAGE = `usage: cdk-agent-guardrails export-org-policies [options]
  --tag-key KEY               the tag that marks non-production resources (default ${DEFAULT_TAG_KEY})
  --non-production V,W        values of that tag that mean disposable (default ${DEFAULT_NON_PRODUCTION_VALUES.join(',')})
  --accounts A,B              protect every resource of these accounts instead (ProductionScope.accounts)
  --no-destruction-only WHY   weaker: deny destruction only, not stopping or overwriting (needs a reason of 20+ characters)
  --agent-tag KEY             principals carrying this tag are agents (default ${AGENT_TAG})
  --agent-arn P,Q             principals whose role ARN is like these patterns are agents instead
  --allow-pass-role ARN,...   roles any agent may pass to a service (default none)
  --allow-assume-role ARN,... roles any agent may assume (default none)
  --budget scps=N,rcps=N,chars=N
                              how many SCPs and RCPs of how many characters the guard may use (default ${DEFAULT})
  --out-dir DIR               write one JSON file per policy and report.txt instead of printing them
  --help, -h                  print this usage
Renders the production guard, the escalation denies and the read-only protection of production as service
control policies for agent principals of member accounts, and as resource control policies protecting
production resources (of the services RCPs support) from agent principals of any account.
exit codes: 0 rendered, 2 usage, 7 the guard does not fit the budget (the message names what does not fit)`;

const SPEC = {
  command: 'export-org-policies',
  usage: USAGE,
  options: {
    'tag-key': { type: 'string' },
    'non-production': { type: 'string' },
    'accounts': { type: 'string' },
    'no-destruction-only': { type: 'string' },
    'agent-tag': { type: 'string' },
    'agent-arn': { type: 'string' },
    'allow-pass-role': { type: 'string' },
    'allow-assume-role': { type: 'string' },
    'budget': { type: 'string' },
    'out-dir': { type: 'string' },
  },
} as const;

interface Budget {
  scps?: number;
  rcps?: number;
  chars?: number;
}

function parseBudget(raw: string): Budget {
  const budget: Budget = {};
  for (const entry of commaList(raw)) {
    const match = /^(scps|rcps|chars)=(\d+)$/.exec(entry);
    if (!match) {
      throw usageError(SPEC, `--budget: ${JSON.stringify(entry)} is not one of scps=N, rcps=N, chars=N.`, {
        received: raw, fix: `pass for example --budget ${DEFAULT}`, withUsage: false,
      });
    }
    budget[match[1] as keyof Budget] = Number(match[2]);
  }
  return budget;
}

/** Options that build a scope, a protection or agents fail as props; here they are bad option values. */
function asUsage<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (GuardrailsError.isGuardrailsError(e) && e.kind === GuardrailsErrorKind.INVALID_PROPS) {
      throw new GuardrailsError(GuardrailsErrorKind.USAGE, e.message, { code: e.code, received: e.received, fix: e.fix });
    }
    throw e;
  }
}

export const run: CommandHandler = async (argv, io) => {
  const parsed = parseCommandArgs(SPEC, argv, io);
  if (!parsed) return EXIT.ok;
  const { values } = parsed;
  const list = (v: string | undefined) => (v === undefined ? undefined : commaList(v));
  const accounts = list(values.accounts);
  if (accounts && (values['tag-key'] !== undefined || values['non-production'] !== undefined)) {
    throw usageError(SPEC, '--accounts replaces the tag-based scope, but --tag-key or --non-production was given too.', {
      received: `--accounts ${values.accounts}`, fix: 'drop --tag-key and --non-production, or drop --accounts', withUsage: false,
    });
  }
  if (values['agent-tag'] !== undefined && values['agent-arn'] !== undefined) {
    throw usageError(SPEC, '--agent-tag and --agent-arn both say who the agents are; give one.', {
      received: `--agent-tag ${values['agent-tag']} --agent-arn ${values['agent-arn']}`, fix: 'drop one of them', withUsage: false,
    });
  }
  const budget = values.budget === undefined ? {} : parseBudget(values.budget);
  const outDir = values['out-dir'];
  const rendered = asUsage(() => renderOrganizationPolicies({
    scope: accounts
      ? ProductionScope.accounts(accounts)
      : ProductionScope.failClosed({ tagKey: values['tag-key'], nonProductionValues: list(values['non-production']) }),
    protection: values['no-destruction-only'] === undefined ? undefined : ProductionProtection.noDestructionOnly(values['no-destruction-only']),
    agents: values['agent-arn'] !== undefined ? AgentPrincipals.arnLike(commaList(values['agent-arn'])) : AgentPrincipals.tagged(values['agent-tag']),
    allowedPassRoles: list(values['allow-pass-role']),
    allowedAssumeRoles: list(values['allow-assume-role']),
    serviceControlPolicies: budget.scps,
    resourceControlPolicies: budget.rcps,
    maxCharacters: budget.chars,
    raiseScps: 'Raise it with --budget scps=N (a target takes 5 SCPs, one of them FullAWSAccess; SCPs at the root, OUs and account all apply).',
    raiseRcps: 'Raise it with --budget rcps=N (a target takes 5 RCPs besides RCPFullAWSAccess).',
  }));
  const report = reportLines(rendered, budget.chars ?? DEFAULT_BUDGET.maxCharacters);
  const policies = [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies];
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const p of policies) fs.writeFileSync(path.join(outDir, `${p.name}.json`), p.content);
    fs.writeFileSync(path.join(outDir, 'report.txt'), `${report.join('\n')}\n`);
  } else {
    const entry = (p: (typeof policies)[number]) => ({ name: p.name, size: p.size, carries: p.carries, document: p.document });
    io.out(JSON.stringify({
      serviceControlPolicies: rendered.serviceControlPolicies.map(entry),
      resourceControlPolicies: rendered.resourceControlPolicies.map(entry),
      coverage: rendered.coverage,
    }, null, 2));
  }
  io.err(`export-org-policies: ${rendered.serviceControlPolicies.length} SCP(s) and ${rendered.resourceControlPolicies.length} RCP(s)`
    + `${outDir ? ` written to ${outDir}` : ''}; attach all of them to the root, OUs or accounts to protect.`);
  for (const line of report) io.err(`  ${line}`);
  return EXIT.ok;
};
