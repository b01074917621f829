import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY, ProductionScope } from '../guard/production-scope';
import { GuardrailsError, GuardrailsErrorKind } from '../shared/errors';
import { SCP_ATTACHMENT_QUOTA, renderServiceControlPolicies } from '../verify/scp/service-control-policies';
import { CommandHandler, EXIT } from './command';

const USAGE = `usage: cdk-agent-guardrails export-scp [options]
  --tag-key KEY          the tag that marks non-production resources (default ${DEFAULT_TAG_KEY})
  --non-production V,W   values of that tag that mean disposable (default ${DEFAULT_NON_PRODUCTION_VALUES.join(',')})
  --accounts A,B         protect every resource of these accounts instead (ProductionScope.accounts)
  --with-escalation      also deny IAM writes, CDK deploy roles, task tokens, audit and control-plane writes
  --max-policies N       fail unless the guard fits in N SCPs (a target takes ${SCP_ATTACHMENT_QUOTA}, one being FullAWSAccess; default no limit)
  --out-dir DIR          write one JSON file per SCP instead of printing them
Applies to principals tagged guardrails:agent (aws:PrincipalTag/guardrails:agent exists).
exit codes: 0 rendered, 2 usage, 7 the guard does not fit the SCP quota`;

export const run: CommandHandler = async (argv, io) => {
  let tagKey: string | undefined;
  let nonProduction: string[] | undefined;
  let accounts: string[] | undefined;
  let withEscalation = false;
  let maxPolicies = Number.POSITIVE_INFINITY;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new GuardrailsError(GuardrailsErrorKind.USAGE, `${arg} needs a value.\n${USAGE}`);
      return v;
    };
    const list = () => value().split(',').map((v) => v.trim()).filter(Boolean);
    switch (arg) {
      case '--tag-key': tagKey = value(); break;
      case '--non-production': nonProduction = list(); break;
      case '--accounts': accounts = list(); break;
      case '--with-escalation': withEscalation = true; break;
      case '--max-policies': {
        const v = value();
        maxPolicies = Number(v);
        if (!Number.isInteger(maxPolicies) || maxPolicies < 1) throw new GuardrailsError(GuardrailsErrorKind.USAGE, `--max-policies must be a positive integer, got ${JSON.stringify(v)}.`);
        break;
      }
      case '--out-dir': outDir = value(); break;
      default: throw new GuardrailsError(GuardrailsErrorKind.USAGE, `unexpected argument ${JSON.stringify(arg)}.\n${USAGE}`);
    }
  }
  if (accounts && (tagKey || nonProduction)) throw new GuardrailsError(GuardrailsErrorKind.USAGE, '--accounts replaces the tag-based scope; drop --tag-key and --non-production.');
  let scope: ProductionScope;
  try {
    scope = accounts ? ProductionScope.accounts(accounts) : ProductionScope.failClosed({ tagKey, nonProductionValues: nonProduction });
  } catch (e) {
    throw new GuardrailsError(GuardrailsErrorKind.USAGE, (e as Error).message);
  }
  const policies = renderServiceControlPolicies({ scope, withEscalation, maxPolicies });
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const p of policies) fs.writeFileSync(path.join(outDir, `${p.name}.json`), JSON.stringify(p.document));
  } else {
    io.out(JSON.stringify(policies.map((p) => ({ name: p.name, size: p.size, document: p.document })), null, 2));
  }
  io.err(`export-scp: ${policies.length} service control polic${policies.length === 1 ? 'y' : 'ies'} (${policies.map((p) => p.size).join(', ')} of ${5120} characters)${outDir ? ` written to ${outDir}` : ''}; `
    + 'attach all of them; they apply to principals tagged guardrails:agent. SCPs do not apply to the management account or to service-linked roles.');
  if (policies.length > SCP_ATTACHMENT_QUOTA - 1) {
    io.err(`export-scp: a target takes ${SCP_ATTACHMENT_QUOTA} SCPs, one of them FullAWSAccess: attach ${SCP_ATTACHMENT_QUOTA - 1} at the root and the rest at the OUs (every level applies).`);
  }
  return EXIT.ok;
};
