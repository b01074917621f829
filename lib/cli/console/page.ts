/**
 * The approval page, served by the local console server. No data is ever written into the HTML:
 * the script fetches the (already inert) requests as JSON and builds the DOM with createElement and
 * textContent only. The script and the style carry a per-response nonce; the Content-Security-Policy
 * allows nothing else (no inline handlers, no external resources, no images).
 */

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
header { background: #232f3e; color: #fff; padding: 12px 24px; }
header h1 { font-size: 18px; margin: 0; }
header p { margin: 4px 0 0; color: #d5dbe3; font-size: 12px; word-break: break-all; }
main { padding: 16px 24px; max-width: 1100px; }
#toolbar { display: flex; gap: 12px; align-items: center; margin-bottom: 12px; }
.result { border-radius: 6px; padding: 10px 14px; margin-bottom: 16px; border: 2px solid; }
.result.waiting { background: #fff8e1; border-color: #c99400; }
.result.decided { background: #e8f5e9; border-color: #2e7d32; }
.result.not-done { background: #fdecea; border-color: #c62828; }
.result .detail { margin: 4px 0 0; word-break: break-word; }
article.request { background: #fff; border: 1px solid #c9ced6; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
article.request.blocked { border-color: #c62828; }
article.request h2 { font-size: 16px; margin: 0 0 8px; word-break: break-all; }
dl { display: grid; grid-template-columns: 180px 1fr; gap: 4px 12px; margin: 0; }
dt { font-weight: 600; color: #4a5260; }
dd { margin: 0; word-break: break-word; white-space: pre-wrap; }
dd.parameters pre { margin: 0; background: #f6f8fa; padding: 6px 8px; border-radius: 4px; max-height: 320px; overflow: auto; white-space: pre-wrap; }
.arn mark { background: #ffcdd2; }
.binding-ok { color: #2e7d32; font-weight: 600; }
.binding-bad { color: #c62828; font-weight: 700; }
.expired, .blocked-why { color: #c62828; font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin-top: 12px; }
.actions textarea { width: 360px; height: 48px; }
button { font: inherit; padding: 6px 14px; border-radius: 4px; border: 1px solid #8d96a3; background: #fff; cursor: pointer; }
button.approve { background: #2e7d32; color: #fff; border-color: #2e7d32; }
button.reject { background: #c62828; color: #fff; border-color: #c62828; }
button:disabled { opacity: 0.45; cursor: not-allowed; }
.empty { color: #4a5260; }
`;

const SCRIPT = `
(() => {
  'use strict';
  const token = new URLSearchParams(location.search).get('token') || '';
  // The token stays in this script only: out of the address bar, the history and any referrer.
  history.replaceState(null, '', location.pathname);
  const el = (tag, className, text) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  async function api(method, path, body) {
    const headers = { 'x-console-token': token };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store',
    });
    let json;
    try { json = await response.json(); } catch (e) { json = { error: 'the local server sent an unreadable answer' }; }
    return { status: response.status, json: json || {} };
  }
  function showResult(result) {
    const box = document.getElementById('result');
    box.className = 'result ' + result.kind;
    box.dataset.kind = result.kind;
    box.replaceChildren(el('strong', 'headline', result.headline), el('p', 'detail', result.detail));
    box.hidden = false;
  }
  function row(dl, label, value, className) {
    const dd = el('dd', className);
    if (typeof value === 'string') dd.textContent = value; else dd.append(value);
    dl.append(el('dt', null, label), dd);
    return dd;
  }
  function arn(parts) {
    const span = el('span', 'arn');
    for (const part of parts) span.append(part.differs ? el('mark', null, part.text) : document.createTextNode(part.text));
    return span;
  }
  function timeLeft(expiresAt) {
    const ms = Date.parse(expiresAt) - Date.now();
    if (!(ms > 0)) return null;
    const minutes = Math.floor(ms / 60000);
    const h = Math.floor(minutes / 60);
    return (h ? h + ' h ' : '') + (minutes % 60) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s left (until ' + expiresAt + ')';
  }
  const cards = [];
  function tick() {
    for (const c of cards) {
      if (!c.r.expiresAt || c.expired) continue;
      const left = timeLeft(c.r.expiresAt);
      if (left) { c.timeLeft.textContent = left; continue; }
      c.expired = true;
      c.timeLeft.textContent = 'EXPIRED at ' + c.r.expiresAt + ': it can no longer be approved or rejected';
      c.timeLeft.className = 'expired';
      for (const b of c.buttons) b.disabled = true;
      c.article.dataset.actionable = 'false';
    }
  }
  function card(r) {
    const article = el('article', 'request');
    article.dataset.requestId = r.pathId;
    article.append(el('h2', null, r.operation + ' on ' + r.resource));
    const dl = el('dl');
    row(dl, 'Request', r.requestId, 'request-id');
    row(dl, 'Status', r.status, 'status');
    row(dl, 'Operation', r.operation, 'operation');
    row(dl, 'Resource (requested)', arn(r.resourceParts), 'resource');
    const actsOn = el('span');
    if (r.target) actsOn.append(arn(r.targetParts)); else actsOn.append(el('span', 'binding-bad', 'UNKNOWN'));
    actsOn.append(r.bindingMatches
      ? el('span', 'binding-ok', '  \\u2713 derived from the parameters by the gate\\u2019s binding: the same resource')
      : el('span', 'binding-bad', '  \\u2717 ' + (r.bindingRefusal || 'the parameters act on another resource') + ': do not approve'));
    row(dl, 'Parameters act on', actsOn, 'target');
    const pre = el('pre', null, r.parameters);
    row(dl, 'Parameters', pre, 'parameters');
    row(dl, 'Agent\\u2019s reason', r.reason, 'reason');
    row(dl, 'Source identity', r.sourceIdentity + '  (as stated by the requester)', 'source-identity');
    row(dl, 'If approved', r.execution || 'not reported by the handler: ask the gate operator how it carries out requests', 'execution');
    row(dl, 'May be requested by', (r.requesters.join(', ') || '(none reported)') +
      '  (the roles granted to request on this gate; the starting session is not verified)', 'requesters');
    row(dl, 'Requested at', r.requestedAt, 'requested-at');
    const noExpiry = 'not reported by the handler: no decision before the gate\\u2019s timeout means rejected';
    const timeLeftDd = row(dl, 'Time left', r.expiresAt ? '' : noExpiry, 'time-left');
    const approvals = r.approvals.length + ' of ' + (r.requiredApprovals || '?') + (r.approvals.length ? ' (by ' + r.approvals.join(', ') + ')' : '');
    row(dl, 'Approvals so far', approvals, 'approvals');
    row(dl, 'Digest', r.digest || '(none)', 'digest');
    article.append(dl);

    const actions = el('div', 'actions');
    const approve = el('button', 'approve', 'Approve exactly this request');
    approve.type = 'button';
    const reasonLabel = el('label', null, 'Reason for rejecting (required) ');
    const reason = el('textarea', 'reject-reason');
    reason.maxLength = 1000;
    reasonLabel.append(reason);
    const reject = el('button', 'reject', 'Reject');
    reject.type = 'button';
    actions.append(approve, reasonLabel, reject);
    article.append(actions);
    const why = el('p', 'blocked-why');
    article.append(why);
    const c = { r, article, timeLeft: timeLeftDd, buttons: [approve, reject], expired: false };
    if (r.notActionable) {
      approve.disabled = reject.disabled = reason.disabled = true;
      why.textContent = 'Not actionable: ' + r.notActionable;
      article.classList.add('blocked');
    } else if (r.approveBlocked) {
      approve.disabled = true;
      why.textContent = 'Approval not offered: ' + r.approveBlocked;
      article.classList.add('blocked');
    }
    article.dataset.actionable = r.notActionable ? 'false' : 'true';
    // The digest sent is the one displayed in this card: the approval binds to what the person saw.
    const digest = r.digest;
    approve.addEventListener('click', () => act(c, 'approve', { digest }));
    reject.addEventListener('click', () => {
      if (!reason.value.trim()) {
        showResult({ kind: 'not-done', headline: 'Not done: a rejection needs a reason', detail: 'Write why you reject in the reason field.' });
        reason.focus();
        return;
      }
      act(c, 'reject', { reason: reason.value });
    });
    cards.push(c);
    return article;
  }
  async function act(c, verb, body) {
    for (const b of c.buttons) b.disabled = true;
    let answer;
    try {
      answer = await api('POST', '/api/requests/' + encodeURIComponent(c.r.pathId) + '/' + verb, body);
    } catch (e) {
      answer = { status: 0, json: { error: 'the local console server could not be reached: ' + e } };
    }
    const result = answer.status === 200 && answer.json.result ? answer.json.result
      : { kind: 'not-done', headline: 'Not done: the local console server answered ' + answer.status, detail: String(answer.json.error || '') };
    showResult(result);
    await load();
  }
  async function load() {
    const list = document.getElementById('requests');
    let answer;
    try { answer = await api('GET', '/api/requests'); } catch (e) { answer = { status: 0, json: { error: String(e) } }; }
    cards.length = 0;
    if (answer.status !== 200 || !Array.isArray(answer.json.requests)) {
      list.replaceChildren(el('p', 'result not-done', 'Could not load the pending requests (' + answer.status + '): ' + (answer.json.error || '')));
      list.dataset.state = 'error';
      return;
    }
    document.getElementById('handler').textContent = 'Approval handler: ' + answer.json.handler + ' \\u2014 you act with your own AWS credentials';
    const items = answer.json.requests.map(card);
    list.replaceChildren(...(items.length ? items : [el('p', 'empty', 'No pending requests.')]));
    list.dataset.state = 'loaded';
    tick();
  }
  document.getElementById('refresh').addEventListener('click', () => load());
  setInterval(tick, 1000);
  load();
})();
`;

/** The page, with `nonce` on its only script and style (a new nonce for each response). */
export function approvalPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Pending approvals · cdk-agent-guardrails</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1>Pending approvals</h1><p id="handler">loading…</p></header>
<main>
<div id="toolbar"><button id="refresh" type="button">Refresh</button></div>
<div id="result" role="status" aria-live="polite" hidden></div>
<section id="requests" aria-label="pending requests"></section>
</main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
