/**
 * cdk-nag is an optional peer: only the rule pack needs it. Importing the library (AgentRole and
 * the other constructs) must work in an app without it, so it is loaded here, once, and the pack
 * says what to install when it is missing.
 */
import type * as CdkNag from 'cdk-nag';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';

function load(): typeof CdkNag | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('cdk-nag');
  } catch {
    return undefined;
  }
}

const nag = load();

/** Throws the install hint when cdk-nag is missing; the pack calls it before anything else. */
export function requireCdkNag(): typeof CdkNag {
  if (!nag) {
    throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, 'AgentGuardrailsChecks needs the cdk-nag package, which is not installed.', {
      code: 'AgentGuardrailsChecks.CdkNagMissing',
      received: 'require("cdk-nag") failed',
      fix: 'Install it beside aws-cdk-lib: npm i -D cdk-nag (version 2.x or 3.x).',
    });
  }
  return nag;
}

/** A stand-in base class when cdk-nag is missing: constructing the pack then fails with the install hint. */
class MissingNagPack {
  constructor() {
    requireCdkNag();
  }
}

export const NagPack: typeof CdkNag.NagPack = nag?.NagPack ?? (MissingNagPack as unknown as typeof CdkNag.NagPack);
export const NagRuleCompliance: typeof CdkNag.NagRuleCompliance = nag?.NagRuleCompliance ?? ({} as typeof CdkNag.NagRuleCompliance);
export const NagMessageLevel: typeof CdkNag.NagMessageLevel = nag?.NagMessageLevel ?? ({} as typeof CdkNag.NagMessageLevel);
export const NagRules: typeof CdkNag.NagRules = nag?.NagRules ?? (MissingNagPack as unknown as typeof CdkNag.NagRules);
