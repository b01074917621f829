import { CfnResource } from 'aws-cdk-lib';
import type { NagRuleResult } from 'cdk-nag';
import { NagRuleCompliance } from '../private/nag';
import { CheckContext } from '../private/check-context';
import { CLASS_LABEL } from '../../verify/analysis/analysis';

const MAX_NAMED = 3;

/** String.prototype.localeCompare's order (ECMA-402 defines it by this collator), without a collator per call. */
const LOCALE_ORDER = new Intl.Collator();

/**
 * An agent role can perform no action of a harmful class (destroy, overwrite, disrupt, isolate, redirect,
 * reconfigure, run code, blind the guardrails) on a production resource of the app. Decided by verify's
 * analysis and evaluator on the synthesized policies, under each action's real request context: one finding
 * per class and resource, naming the actions and the statements that allow them.
 */
export function agentCanHarmProduction(node: CfnResource, ctx: CheckContext): NagRuleResult {
  const role = ctx.agentRole(node);
  if (!role) return NagRuleCompliance.NOT_APPLICABLE;
  const harms = ctx.harmsOf(role);
  if (harms.length === 0) return NagRuleCompliance.COMPLIANT;
  const byFinding = new Map<string, string[]>();
  // verify lists a resource's harms class by class: a run of one class on one resource is one finding, named once.
  for (let start = 0, end = 0; start < harms.length; start = end) {
    const { class: cls, resource, stack } = harms[start];
    const actions: string[] = [];
    for (; end < harms.length && harms[end].class === cls && harms[end].resource === resource && harms[end].stack === stack; end++) {
      actions.push(`${harms[end].action} (allowed by ${harms[end].statement})`);
    }
    const finding = `${cls}::${ctx.constructPathOf(resource, stack)}`;
    const known = byFinding.get(finding);
    if (known) known.push(...actions);
    else byFinding.set(finding, actions);
  }
  for (const [finding, unsorted] of byFinding) {
    // The shortest action names first: dynamodb:DeleteTable says more than dynamodb:DeleteGlobalTableWitness.
    const actions = [...unsorted].sort((a, b) => a.length - b.length || LOCALE_ORDER.compare(a, b));
    const [cls, resource] = finding.split('::');
    const more = actions.length > MAX_NAMED ? ` and ${actions.length - MAX_NAMED} more` : '';
    ctx.findingDetails.set(
      `${node.node.path}|${finding}`,
      `it can ${CLASS_LABEL[cls] ?? cls} (${cls}) the production resource ${resource}: ${actions.slice(0, MAX_NAMED).join(', ')}${more}`,
    );
  }
  return [...byFinding.keys()];
}
