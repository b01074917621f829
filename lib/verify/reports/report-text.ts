import { AgentVerdict, CLASS_LABEL, ClassStatus, HARM_CLASSES, ResourceVerdict, Status, VerifyReport } from '../analysis/analysis';

/** Renders reports for the terminal and for a pull request comment (Markdown). */

/** The shortest action names first: `rds:DeleteDBInstance` says more than `rds:DeleteTenantDatabase`. */
function abbreviate(actions: readonly string[], max = 4): string {
  const sorted = [...actions].sort((a, b) => a.length - b.length || a.localeCompare(b));
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(0, max).join(', ')} +${sorted.length - max} more`;
}

const GROUP_ORDER = ['assume-role', 'pass-role', 'iam-write', 'audit-trail', 'task-token', 'credentials', 'control-plane'];

function resourceFindings(r: ResourceVerdict): string {
  const parts: string[] = [];
  if (r.canDestroy.length) parts.push(`DESTROY ${abbreviate(r.canDestroy)}`);
  if (r.canDeleteData.length) parts.push(`DELETE DATA ${abbreviate(r.canDeleteData)}`);
  if (r.canRetag.length) parts.push(`RETAG ${abbreviate(r.canRetag)}`);
  if (r.unknown.length) parts.push(`UNKNOWN ${abbreviate(r.unknown)}`);
  return parts.join('; ') || 'nothing';
}

function escalationFindings(agent: AgentVerdict): string {
  const parts: string[] = [];
  const e = agent.escalation;
  if (e.allowed.length) {
    const ordered = [...e.allowed].sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group));
    const names = [
      ...new Set(ordered.map((f) => `${f.action}${f.group === 'pass-role' || f.group === 'assume-role' ? ` ${f.resource.split('/').pop()}` : ''}`)),
    ];
    parts.push(`ESCALATE ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` +${names.length - 3} more` : ''}`);
  }
  if (e.unknown.length) parts.push(`UNKNOWN ${abbreviate(e.unknown.map((f) => f.action))}`);
  return parts.join('; ') || 'nothing';
}

function gated(denied: number, granted: readonly string[], viaGate: readonly string[] = []): string {
  const parts = [`${denied} denied`];
  if (viaGate.length) parts.push(`gated: ${abbreviate(viaGate, 2)}`);
  if (granted.length) parts.push(`granted data: ${abbreviate(granted, 2)}`);
  return parts.join('; ');
}

const MARK: Record<Status, string> = {
  'allowed': 'CAN',
  'unknown': 'UNKNOWN',
  'granted': 'granted',
  'denied': 'guarded',
  'not-granted': 'no access',
};

export { CLASS_LABEL };

/** A class cell's word: CAN is a finding, gated = only through the named approval gate. */
export const CLASS_MARK: Readonly<Record<ClassStatus, string>> = Object.freeze({
  'allowed': 'CAN',
  'unknown': 'UNKNOWN',
  'granted': 'granted',
  'gated': 'gated',
  'denied': 'guarded',
  'not-granted': 'no access',
  'none': '-',
});

const MAX_HARM_LINES = 20;

/** The per-class view: one row per agent and production resource of the app, one column per harmful class, then each finding. */
export function classLines(report: VerifyReport): string[] {
  const header = ['AGENT', 'RESOURCE', ...HARM_CLASSES.map((c) => CLASS_LABEL[c] ?? c)];
  const rows = report.agents.flatMap((agent) =>
    agent.resources
      .filter((r) => r.byClass !== undefined && r.arn !== '*')
      .map((r) => [agent.agent, r.resource, ...HARM_CLASSES.map((c) => CLASS_MARK[r.byClass[c].status])]),
  );
  if (rows.length === 0) return [];
  const names = [0, 1].map((col) =>
    fitNames(
      rows.map((r) => r[col]),
      col === 0 ? 24 : 40,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 2 ? names[i].get(r[i])! : r[i]).length)));
  const line = (r: string[], head = false) =>
    r
      .map((c, i) => (i < 2 && !head ? names[i].get(c)! : c).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [
    'harmful classes on production (CAN = a finding; gated = only through the named approval gate; granted = explicitly granted on it):',
    line(header, true),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map((r) => line(r)),
  ];
  for (const agent of report.agents) {
    for (const h of agent.harms.slice(0, MAX_HARM_LINES)) {
      out.push(`FINDING: ${agent.agent} can ${CLASS_LABEL[h.class] ?? h.class} (${h.class}) ${h.resource}: ${h.action}, allowed by ${h.statement}`);
    }
    if (agent.harms.length > MAX_HARM_LINES) out.push(`FINDING: ${agent.agent}: +${agent.harms.length - MAX_HARM_LINES} more (see --json)`);
    for (const r of agent.resources) {
      for (const c of HARM_CLASSES) {
        if (r.byClass?.[c]?.gated.length) out.push(`${agent.agent}: ${CLASS_LABEL[c]} ${r.resource} is gated: ${abbreviate(r.byClass[c].gated, 2)}`);
      }
    }
  }
  return out;
}

/** Rows of the blast-radius table: one per agent and production resource, one per agent for escalation. */
export function blastRadiusRows(report: VerifyReport): string[][] {
  const rows: string[][] = [];
  for (const agent of report.agents) {
    for (const r of agent.resources) {
      rows.push([agent.agent, r.resource, MARK[r.status], resourceFindings(r), gated(r.denied, r.grantedData, r.gated)]);
    }
    rows.push([
      agent.agent,
      '(escalation & tampering)',
      MARK[agent.escalation.status],
      escalationFindings(agent),
      `${agent.escalation.denied} denied`,
    ]);
  }
  return rows;
}

const HEADER = ['AGENT', 'RESOURCE', 'VERDICT', 'CAN DESTROY OR ESCALATE', 'GUARDED'];

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Shortened in the middle: construct paths differ at their end as often as at their start. */
function truncateMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/**
 * The cells of a name column (agents, resources), fitted to `width` so that two different names never print
 * the same: shortened in the middle, then by their end, then numbered.
 */
function fitNames(names: string[], width: number): Map<string, string> {
  const distinct = [...new Set(names)];
  const fitted = new Map(distinct.map((n) => [n, truncateMiddle(n, width)]));
  const clashes = () => {
    const seen = new Map<string, number>();
    for (const v of fitted.values()) seen.set(v, (seen.get(v) ?? 0) + 1);
    return distinct.filter((n) => (seen.get(fitted.get(n)!) ?? 0) > 1);
  };
  for (const n of clashes()) fitted.set(n, n.length <= width ? n : `…${n.slice(n.length - (width - 1))}`);
  let i = 0;
  for (const n of clashes()) {
    if (n.length <= width) continue;
    const tag = `#${++i}`;
    fitted.set(n, `${truncateMiddle(n, width - tag.length)}${tag}`);
  }
  return fitted;
}

function verdictLine(report: VerifyReport): string {
  const s = report.summary;
  if (s.clean) {
    return (
      `OK: no agent can destroy production or escalate, nor take it down (${s.agents} agent(s), ${s.productionResources} production resource(s), ` +
      `${s.evaluations} evaluations).`
    );
  }
  const lines: string[] = [];
  if (s.agentsThatCanDestroyProduction.length) lines.push(`can destroy production: ${s.agentsThatCanDestroyProduction.join(', ')}`);
  if (s.agentsThatCanHarmProduction.length) lines.push(`can harm production (a harmful class): ${s.agentsThatCanHarmProduction.join(', ')}`);
  if (s.agentsThatCanEscalate.length) lines.push(`can escalate: ${s.agentsThatCanEscalate.join(', ')}`);
  if (s.uncertainAgents.length) lines.push(`depend on UNKNOWN policies: ${s.uncertainAgents.join(', ')}`);
  return `FAIL: ${lines.join('; ')} (${s.evaluations} evaluations).`;
}

/** The terminal report: the blast-radius table, warnings and the verdict. */
export function renderTerminal(report: VerifyReport, width = 200): string[] {
  const rows = [HEADER, ...blastRadiusRows(report)];
  const limits = [24, 40, 9, Math.max(30, width - 24 - 40 - 9 - 44 - 8), 44];
  const widths = HEADER.map((_h, i) => Math.min(limits[i], Math.max(...rows.map((r) => r[i].length))));
  // The AGENT and RESOURCE columns: two different names never print the same text.
  const names = [0, 1].map((col) =>
    fitNames(
      rows.slice(1).map((r) => r[col]),
      widths[col],
    ),
  );
  const fit = (c: string, i: number) => (i < 2 && names[i].has(c) ? names[i].get(c)! : truncate(c, widths[i]));
  const line = (r: string[]) =>
    r
      .map((c, i) => fit(c, i).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const out = [
    `cdk-agent-guardrails verify (${report.mode}): ${report.assembly}`,
    `production: ${report.productionModel.rule}`,
    '',
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    ...classLines(report),
    '',
  ];
  for (const agent of report.agents) {
    for (const g of agent.gates) {
      out.push(
        `${agent.agent}: can request through approval gate ${g.gate} (a human decides): ` +
          `${g.operations.map((o) => `${o.action} on ${o.resources.join(', ')}`).join('; ')}`,
      );
    }
    out.push(
      `${agent.agent}: role ${agent.roleArn} (found by ${agent.detectedBy}; boundary ${agent.boundary ? agent.boundary.name : 'none'}; policies ` +
        `${agent.policies.map((p) => (p.source === 'unknown' ? `${p.name} (UNKNOWN)` : p.name)).join(', ') || 'none'})`,
    );
  }
  if (report.nonProductionResources.length) {
    out.push(`not production (tagged disposable, not evaluated): ${report.nonProductionResources.join(', ')}`);
  }
  const notAssessed = Object.entries(report.notAssessed);
  if (notAssessed.length) {
    out.push(`not assessed (no ARN known offline): ${notAssessed.map(([t, n]) => `${t} x${n}`).join(', ')}`);
  }
  for (const w of report.warnings) out.push(`warning: ${w}`);
  out.push(verdictLine(report));
  return out;
}

function mdEscape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

const ICON: Record<Status, string> = {
  'allowed': '🔴 can',
  'unknown': '🟠 unknown',
  'granted': '🟢 granted data',
  'denied': '🟢 guarded',
  'not-granted': '⚪ no access',
};

/** A Markdown report for a pull request comment. */
export function renderMarkdown(report: VerifyReport): string {
  const s = report.summary;
  const out: string[] = [];
  out.push(
    `## cdk-agent-guardrails verify: ${s.clean ? '✅ no agent can destroy production or escalate' : '❌ an agent can destroy production or escalate'}`,
  );
  out.push('');
  out.push(
    `${s.agents} agent(s), ${s.productionResources} production resource(s), ${s.evaluations} evaluations (${report.mode}, catalog ` +
      `${report.catalogVersion}).`,
  );
  out.push(`Production: ${report.productionModel.rule}.`);
  out.push('');
  out.push('| Agent | Resource | Verdict | Can destroy or escalate | Guarded |');
  out.push('|---|---|---|---|---|');
  for (const agent of report.agents) {
    for (const r of agent.resources) {
      out.push(
        `| ${mdEscape(agent.agent)} | ${mdEscape(r.resource)} | ${ICON[r.status]} | ${mdEscape(resourceFindings(r))} | ` +
          `${mdEscape(gated(r.denied, r.grantedData, r.gated))} |`,
      );
    }
    out.push(
      `| ${mdEscape(agent.agent)} | escalation & tampering | ${ICON[agent.escalation.status]} | ${mdEscape(escalationFindings(agent))} | ` +
        `${agent.escalation.denied} denied |`,
    );
  }
  const harms = report.agents.flatMap((a) => a.harms.map((h) => ({ agent: a.agent, ...h })));
  if (harms.length) {
    out.push('');
    out.push('**Harmful classes an agent can perform on production**');
    out.push('');
    out.push('| Agent | Resource | Class | Action | Allowed by |');
    out.push('|---|---|---|---|---|');
    for (const h of harms.slice(0, 50)) {
      out.push(`| ${mdEscape(h.agent)} | ${mdEscape(h.resource)} | ${h.class} | ${mdEscape(h.action)} | ${mdEscape(h.statement)} |`);
    }
    if (harms.length > 50) out.push(`\n+${harms.length - 50} more (see --json)`);
  }
  if (report.warnings.length) {
    out.push('');
    out.push('**Warnings**');
    out.push('');
    for (const w of report.warnings) out.push(`- ${mdEscape(w)}`);
  }
  out.push('');
  out.push(verdictLine(report));
  return out.join('\n');
}
