import * as fs from 'fs';
import * as path from 'path';
import { ProductionScope } from '../guard/production-scope';
import { ORGANIZATION_POLICIES_PER_TARGET as SCP_ATTACHMENT_QUOTA, renderOrganizationPolicies } from '../organization/private/render';
import { IAM_QUOTAS } from '../shared/policy-size';
import { AGENT_TAG, DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../shared/tags';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';

import { commaList, parseCommandArgs, usageError } from './args';
import { CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails export-scp [options]
  --tag-key KEY          the tag that marks non-production resources (default ${DEFAULT_TAG_KEY})
  --non-production V,W   values of that tag that mean disposable (default ${DEFAULT_NON_PRODUCTION_VALUES.join(',')})
  --accounts A,B         protect every resource of these accounts instead (ProductionScope.accounts)
  --with-escalation      accepted for older scripts: the escalation denies (IAM writes, CDK deploy roles, task tokens,
                         audit and control-plane writes) are always included now
  --max-policies N       fail unless the guard fits in N SCPs (a target takes ${SCP_ATTACHMENT_QUOTA}, one being FullAWSAccess; default no limit)
  --out-dir DIR          write one JSON file per SCP instead of printing them
  --help, -h             print this usage
The SCPs of \`export-org-policies\` (the same renderer): the production guard, the escalation denies and the
read-only protection of production, for principals tagged ${AGENT_TAG}; use export-org-policies for RCPs and other agents.
exit codes: 0 rendered, 2 usage, 7 the guard does not fit the SCP quota`;

/** The renderer's own ceiling on a budget: far above what any target can attach. */
const UNLIMITED_SCPS = 50;

const SPEC = {
  command: 'export-scp',
  usage: USAGE,
  options: {
    'tag-key': { type: 'string' },
    'non-production': { type: 'string' },
    'accounts': { type: 'string' },
    'with-escalation': { type: 'boolean' },
    'max-policies': { type: 'string' },
    'out-dir': { type: 'string' },
  },
} as const;

export const run: CommandHandler = async (argv, io) => {
  const parsed = parseCommandArgs(SPEC, argv, io);
  if (!parsed) return EXIT.ok;
  const { values } = parsed;
  const tagKey = values['tag-key'];
  const nonProduction = values['non-production'] === undefined ? undefined : commaList(values['non-production']);
  const accounts = values.accounts === undefined ? undefined : commaList(values.accounts);
  const withEscalation = values['with-escalation'] ?? false;
  const outDir = values['out-dir'];
  const rawMax = values['max-policies'];
  const maxPolicies = rawMax === undefined ? Number.POSITIVE_INFINITY : Number(rawMax);
  if (rawMax !== undefined && (!Number.isInteger(maxPolicies) || maxPolicies < 1)) {
    throw usageError(SPEC, `--max-policies must be a positive integer, got ${JSON.stringify(rawMax)}.`, {
      received: rawMax,
      fix: `pass the number of SCPs you can attach, for example --max-policies ${SCP_ATTACHMENT_QUOTA - 1}`,
      withUsage: false,
    });
  }
  if (accounts && (tagKey !== undefined || nonProduction)) {
    throw usageError(SPEC, '--accounts replaces the tag-based scope, but --tag-key or --non-production was given too.', {
      received: `--accounts ${values.accounts}`,
      fix: 'drop --tag-key and --non-production, or drop --accounts',
      withUsage: false,
    });
  }
  let scope: ProductionScope;
  try {
    scope = accounts ? ProductionScope.accounts(accounts) : ProductionScope.failClosed({ tagKey, nonProductionValues: nonProduction });
  } catch (e) {
    // The scope's own check says what was wrong and how to fix it; it is a bad option value here.
    throw GuardrailsError.isGuardrailsError(e)
      ? new GuardrailsError(GuardrailsErrorKind.USAGE, e.message, { code: e.code, received: e.received, fix: e.fix })
      : usageError(SPEC, (e as Error).message, { withUsage: false });
  }
  if (withEscalation) io.err('export-scp: --with-escalation is no longer needed: the escalation denies are always included.');
  // The one renderer of the organization guard (SCPs only here): what export-org-policies and OrganizationGuardrails deploy.
  const rendered = renderOrganizationPolicies({
    scope,
    serviceControlPolicies: Number.isFinite(maxPolicies) ? maxPolicies : UNLIMITED_SCPS,
    resourceControlPolicies: 0,
    maxCharacters: IAM_QUOTAS.serviceControlPolicy,
    raiseScps:
      `Pass a larger --max-policies than ${rawMax} (a target takes ${SCP_ATTACHMENT_QUOTA} SCPs, one of them FullAWSAccess; ` +
      'SCPs at the root, OUs and account all apply).',
  });
  const policies = rendered.serviceControlPolicies;
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const p of policies) fs.writeFileSync(path.join(outDir, `${p.name}.json`), p.content);
  } else {
    io.out(
      JSON.stringify(
        policies.map((p) => ({ name: p.name, size: p.size, document: p.document })),
        null,
        2,
      ),
    );
  }
  const sizes = `${policies.map((p) => p.size).join(', ')} of ${IAM_QUOTAS.serviceControlPolicy} characters`;
  io.err(
    `export-scp: ${policies.length} service control polic${policies.length === 1 ? 'y' : 'ies'} (${sizes})` +
      `${outDir ? ` written to ${outDir}` : ''}; attach all of them; they apply to principals tagged ${AGENT_TAG}. ` +
      'SCPs do not apply to the management account or to service-linked roles.',
  );
  if (policies.length > SCP_ATTACHMENT_QUOTA - 1) {
    io.err(
      `export-scp: a target takes ${SCP_ATTACHMENT_QUOTA} SCPs, one of them FullAWSAccess: ` +
        `attach ${SCP_ATTACHMENT_QUOTA - 1} at the root and the rest at the OUs (every level applies).`,
    );
  }
  return EXIT.ok;
};
