import * as fs from 'fs';
import * as path from 'path';
import { ProductionScope } from '../guard/production-scope';
import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../shared/tags';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';
import { SCP_ATTACHMENT_QUOTA, renderServiceControlPolicies } from '../verify/scp/service-control-policies';
import { commaList, parseCommandArgs, usageError } from './args';
import { CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails export-scp [options]
  --tag-key KEY          the tag that marks non-production resources (default ${DEFAULT_TAG_KEY})
  --non-production V,W   values of that tag that mean disposable (default ${DEFAULT_NON_PRODUCTION_VALUES.join(',')})
  --accounts A,B         protect every resource of these accounts instead (ProductionScope.accounts)
  --with-escalation      also deny IAM writes, CDK deploy roles, task tokens, audit and control-plane writes
  --max-policies N       fail unless the guard fits in N SCPs (a target takes ${SCP_ATTACHMENT_QUOTA}, one being FullAWSAccess; default no limit)
  --out-dir DIR          write one JSON file per SCP instead of printing them
  --help, -h             print this usage
Applies to principals tagged guardrails:agent (aws:PrincipalTag/guardrails:agent exists).
exit codes: 0 rendered, 2 usage, 7 the guard does not fit the SCP quota`;

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
  const policies = renderServiceControlPolicies({ scope, withEscalation, maxPolicies });
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const p of policies) fs.writeFileSync(path.join(outDir, `${p.name}.json`), JSON.stringify(p.document));
  } else {
    io.out(
      JSON.stringify(
        policies.map((p) => ({ name: p.name, size: p.size, document: p.document })),
        null,
        2,
      ),
    );
  }
  const sizes = policies.map((p) => p.size).join(', ');
  io.err(
    `export-scp: ${policies.length} service control polic${policies.length === 1 ? 'y' : 'ies'} (${sizes} of ${5120} characters)` +
      `${outDir ? ` written to ${outDir}` : ''}; attach all of them; they apply to principals tagged guardrails:agent. ` +
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
