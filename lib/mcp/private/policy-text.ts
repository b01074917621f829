/**
 * `guardrails://policy`: the agent's guardrails in plain words, for the start of a session. The
 * per-resource facts are verify's own report for this agent (the same analysis, the same decider),
 * and the rules are stated only where the agent's policies make them true.
 */
import { AgentVerdict, analyse } from '../../verify/analysis/analysis';
import { otherRoles } from '../../verify/model/agents';
import { findApprovalGates } from '../../verify/model/approval-gates';
import { duration, requestableGates } from './gates';
import { Knowledge, hasEscalationGuard, hasReadOnlyBoundary } from './knowledge';

const verdicts = new WeakMap<Knowledge, Promise<AgentVerdict>>();

/** verify's verdict for the agent, computed once per knowledge. */
export function verdictOf(k: Knowledge): Promise<AgentVerdict> {
  let verdict = verdicts.get(k);
  if (!verdict) {
    verdict = analyse({
      assembly: k.assemblyDirectory,
      mode: k.mode,
      agents: [k.agent],
      production: k.resources.filter((r) => r.production),
      nonProduction: k.resources.filter((r) => !r.production),
      notAssessed: k.notAssessed,
      otherRoleArns: k.assembly && k.mode === 'offline' ? otherRoles(k.assembly, [k.agent]) : [],
      gates: k.mode === 'offline' && k.assembly ? findApprovalGates(k.assembly) : k.gates.map((g) => ({
        id: g.id, stateMachineArn: g.stateMachineArn, operations: g.operations.map((o) => ({ action: o.operation, resources: o.resources })),
      })),
      model: k.model,
      decider: k.decider,
    }).then((report) => report.agents[0]);
    verdicts.set(k, verdict);
    verdict.catch(() => verdicts.delete(k));
  }
  return verdict;
}

export async function policyText(k: Knowledge): Promise<string> {
  const v = await verdictOf(k);
  const key = k.model.tagKey;
  const values = k.model.nonProductionValues.join(', ');
  const readOnly = hasReadOnlyBoundary(k);
  const lines = [
    `# Guardrails of agent ${k.agent.name}`,
    '',
    `Role: ${k.agent.roleArn}. ${k.mode === 'live' ? 'Decided by IAM\'s policy simulator for the deployed role'
      : `Decided from the cloud assembly at ${k.assemblyDirectory} with the shipped IAM evaluator`}, as \`cdk-agent-guardrails verify\` decides.`,
    '',
    '## Rules',
    `- A resource is production unless its "${key}" tag (on the resource or its stack) is one of ${values}. `
      + 'Untagged, unknown or outside this app counts as production.',
    readOnly
      ? '- Production is read-only to you: you may read it, and change only what was granted to you on that specific resource. '
        + 'Destroying a resource, its backups, versions, protections or keys stays denied even then.'
      : '- WARNING: this agent has no read-only permissions boundary from cdk-agent-guardrails, so production is not read-only to it: '
        + 'what it may do is what its policies allow. Ask check_action before every change.',
    hasEscalationGuard(k)
      ? '- You cannot change IAM identities or policies, pass or assume roles outside your allow-list, create credentials, '
        + 'or touch the guardrails themselves (approval gates, circuit breaker, audit trail).'
      : '- WARNING: this agent has no escalation guard from cdk-agent-guardrails: nothing here stops it from changing IAM or the guardrails.',
    '- An explicit deny cannot be worked around by another grant; do not retry a denied call or look for another path to the same effect.',
    '- Before any write, call check_action (action, resource). Before working on a resource, call describe_resource. '
      + 'If a denied action has an approval gate, call request_approval, then approval_status.',
    '',
    `## verify's verdict for this agent`,
    v.canDestroyProduction || v.canEscalate || v.uncertain
      ? `FINDINGS: ${[v.canDestroyProduction ? 'can destroy production' : '', v.canEscalate ? 'can escalate its permissions' : '',
        v.uncertain ? 'depends on a policy without a document (UNKNOWN)' : ''].filter(Boolean).join('; ')}. Act as if every such action were denied.`
      : 'OK: this agent cannot destroy production or escalate its permissions.',
    '',
    `## Production resources of this app (${v.resources.filter((r) => r.arn !== '*').length})`,
    ...v.resources.filter((r) => r.arn !== '*').map((r) => {
      const extra = [
        r.canModify.length > 0 ? `you may change it with ${r.canModify.join(', ')}` : '',
        r.grantedData.length > 0 ? `you may delete data with ${r.grantedData.join(', ')} (explicit grant)` : '',
        r.gated.length > 0 ? `needs a human (approval gate): ${r.gated.join(', ')}` : '',
        r.canDestroy.length + r.canDeleteData.length + r.canRetag.length > 0
          ? `FINDING: can destroy with ${[...r.canDestroy, ...r.canDeleteData, ...r.canRetag].join(', ')}` : '',
      ].filter(Boolean);
      return `- ${r.resource} (${r.type}) ${r.arn}${extra.length > 0 ? `: ${extra.join('; ')}` : ''}`;
    }),
    '',
    `## Disposable resources of this app (${k.resources.filter((r) => !r.production).length})`,
    ...k.resources.filter((r) => !r.production).map((r) => `- ${r.id} (${r.type}) ${r.arn}: tagged ${key}=${r.tags[key]}`),
    '',
    '## Approval gates you may request through',
    ...(requestableGates(k).length > 0
      ? requestableGates(k).map((g) => `- ${g.id}: ${g.operations.map((o) => `${o.operation} on ${o.resources.join(', ')}`).join('; ')}; `
        + `${g.requiredApprovals ?? 1} approval(s) within ${duration(g.timeoutSeconds)}`)
      : ['- none: what is denied needs the person you work for']),
    '',
    '## Circuit breaker',
    ...(k.breakers.length > 0
      ? k.breakers.map((b) => `- ${b.breaker}: quarantines you above ${b.config.maxDestructiveCalls} destructive or `
        + `${b.config.maxDeniedCalls} denied calls`
        + `${b.config.maxWriteCalls ? ` or ${b.config.maxWriteCalls} writes` : ''} in ${b.config.windowSeconds} s`
        + `${b.monitorOnly ? ' (monitor only for now)' : ''}; only a person resets it. breaker_status shows your counts.`)
      : ['- no circuit breaker of this app watches this agent']),
    ...(k.warnings.length > 0 ? ['', '## Warnings', ...k.warnings.map((w) => `- ${w}`)] : []),
  ];
  return lines.join('\n');
}
