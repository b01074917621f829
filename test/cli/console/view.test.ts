/**
 * What the approval page tells a person after acting, from each kind of handler reply (the replies'
 * shapes are those of lib/approval-gate/runtime/index.ts; the browser tests drive the real handler).
 */
import { actionResult, diffArns, displayRequest, inertPrettyJson, unreachable } from '../../../lib/cli/console/view';

const DIGEST = 'a'.repeat(64);

describe("the page tells the handler's reply truthfully", () => {
  test.each([
    ['approve', 202, { requestId: 'r1', status: 'PENDING', approvals: 1, requiredApprovals: 2 }, 'waiting', /^Approval recorded: 1 of 2, waiting/],
    [
      'approve',
      200,
      { requestId: 'r1', status: 'APPROVED', approvers: ['a'], delivery: 'the decision was delivered to the workflow' },
      'decided',
      /^Approved/,
    ],
    [
      'reject',
      200,
      { requestId: 'r1', status: 'REJECTED', approvers: [], delivery: 'the decision was delivered to the workflow' },
      'decided',
      /^Rejected/,
    ],
    [
      'approve',
      503,
      { error: 'the decision APPROVED is recorded but its delivery ...', status: 'APPROVED' },
      'not-done',
      /^Not done yet: your approval is recorded/,
    ],
    ['approve', 409, { error: 'digest mismatch' }, 'not-done', /^Not done: the handler answered 409/],
    ['approve', 403, { message: 'Forbidden' }, 'not-done', /^Not done: the handler answered 403/],
  ])('%s answered %i %j is "%s"', (verb, status, json, kind, headline) => {
    const result = actionResult(verb as 'approve' | 'reject', 'r1', { status, json });
    expect(result.kind).toBe(kind);
    expect(result.headline).toMatch(headline);
  });

  test.each([
    ['a 200 without a status', 'approve', 200, {}],
    ['a 200 that says REJECTED to an approval', 'approve', 200, { status: 'REJECTED' }],
    ['a 202 without counts', 'approve', 202, { status: 'PENDING' }],
    ['a 202 to a rejection', 'reject', 202, { status: 'PENDING', approvals: 0, requiredApprovals: 1 }],
  ])('fails closed on %s: "not done"', (_what, verb, status, json) => {
    expect(actionResult(verb as 'approve' | 'reject', 'r1', { status, json }).kind).toBe('not-done');
  });

  test('fails closed when the answer is lost, and says how to learn whether it counted', () => {
    const result = unreachable('r1', new Error('socket hang up\nDigest: forged'));
    expect(result.headline).toBe('Not confirmed: no answer from the approval handler');
    expect(result).toMatchObject({ kind: 'not-done', status: 0 });
    expect(result.detail).toContain('socket hang up\\nDigest: forged');
    expect(result.detail).toContain('`approvals show r1`');
  });

  test('fails closed when the handler was never reached, and says nothing was sent', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' } });
    const result = unreachable('r1', refused);
    expect(result).toMatchObject({ kind: 'not-done', headline: 'Not done: the approval handler could not be reached' });
    expect(result.detail).toContain('Nothing was sent');
  });

  test("the handler's own message is inert", () => {
    const result = actionResult('approve', 'r1', { status: 409, json: { error: 'x\n\u202eDigest: forged' } });
    expect(result.detail).toContain('x\\n\\u202eDigest: forged');
  });
});

describe('what a request shows', () => {
  const base = {
    requestId: 'r1',
    status: 'PENDING',
    operation: 'rds:DeleteDBInstance',
    resource: 'arn:aws:rds:us-east-1:1:db:orders',
    target: 'arn:aws:rds:us-east-1:1:db:orders',
    parameters: { DBInstanceIdentifier: 'orders' },
    digest: DIGEST,
    requiredApprovals: 1,
    approvals: [],
  };

  test('a request that binds is actionable', () => {
    expect(displayRequest(base)).toMatchObject({ notActionable: '', approveBlocked: '', bindingMatches: true, digest: DIGEST });
  });

  test.each([
    ['no digest', { digest: undefined }, /no valid digest/],
    ['a digest that is not 64 hex digits', { digest: 'A'.repeat(64) }, /no valid digest/],
    ['a binding refusal', { bindingRefusal: 'the parameters act on x' }, /the gate refuses this request/],
    ['no target', { target: null }, /do not act on the resource/],
    ['another target', { target: 'arn:aws:rds:us-east-1:1:db:orders-old' }, /do not act on the resource/],
    ['no required approvals', { requiredApprovals: 0 }, /no valid number of required approvals/],
  ])('fails closed with %s: approval is not offered', (_what, change, why) => {
    expect(displayRequest({ ...base, ...change }).approveBlocked).toMatch(why);
  });

  test.each([
    ['an invalid request id', { requestId: '../x' }, /no valid request id/],
    ['a decided status', { status: 'APPROVED' }, /not pending/],
    ['an outcome', { outcome: 'PERFORMED' }, /not pending/],
    ['a passed expiry', { expiresAt: '2020-01-01T00:00:00Z' }, /^expired at 2020-01-01T00:00:00.000Z/],
  ])('fails closed with %s: nothing is offered', (_what, change, why) => {
    const shown = displayRequest({ ...base, ...change }, new Date('2026-01-01T00:00:00Z'));
    expect(shown.notActionable).toMatch(why);
    expect(shown.approveBlocked).toMatch(why);
  });

  test('the ARN pieces that differ are marked on both sides', () => {
    const { left, right } = diffArns('arn:aws:rds:us-east-1:1:db:orders', 'arn:aws:rds:us-east-1:2:db:orders-old');
    expect(left.filter((p) => p.differs).map((p) => p.text)).toEqual([':1', ':orders']);
    expect(right.filter((p) => p.differs).map((p) => p.text)).toEqual([':2', ':orders-old']);
  });

  test('parameters are pretty JSON with every invisible character escaped, cut with a marker', () => {
    expect(inertPrettyJson({ a: 'x\u202ey\u2028z\n' })).toBe('{\n  "a": "x\\u202ey\\u2028z\\n"\n}');
    expect(inertPrettyJson({ a: 'b'.repeat(100) }, 20)).toMatch(/\n… \(\d+ more characters\)$/);
  });
});
