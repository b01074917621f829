/**
 * The breaker rule's event pattern, as synthesized, against realistic CloudTrail event samples,
 * evaluated by a local EventBridge pattern matcher (test/support/event-pattern-matcher.ts: no
 * maintained matcher exists on npm, see that file).
 */
import { classifyEvent } from '../../lib/circuit-breaker/runtime/breaker-events';
import { matchesEventPattern } from '../support/event-pattern-matcher';
import { ACCOUNT } from '../support/template-resolver';
import { cloudTrailEvent } from './breaker-fixtures';
import { BreakerFixture, synthBreaker } from './breaker-synth';

const AGENT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/agent255f68e9`;
let fx: BreakerFixture;
let pattern: Record<string, unknown>;
beforeAll(() => {
  fx = synthBreaker();
  const rule = Object.values(fx.template.Resources).find((r) => r.Type === 'AWS::Events::Rule')!;
  pattern = fx.resolver.resolve(rule.Properties.EventPattern);
});

describe('the breaker rule pattern', () => {
  test("matches the agent session's write calls, destructive or not", () => {
    expect(
      matchesEventPattern(pattern, cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource: 'dynamodb.amazonaws.com', eventName: 'DeleteTable' })),
    ).toBe(true);
    expect(
      matchesEventPattern(pattern, cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances' })),
    ).toBe(true);
  });

  test("does not match the agent session's successful reads", () => {
    expect(
      matchesEventPattern(
        pattern,
        cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', readOnly: true }),
      ),
    ).toBe(false);
  });

  test.each([
    ['AccessDenied', 's3.amazonaws.com', 'GetBucketPolicy'],
    ['AccessDeniedException', 'dynamodb.amazonaws.com', 'DescribeTable'],
    ['Client.UnauthorizedOperation', 'ec2.amazonaws.com', 'DescribeInstances'],
    ['UnauthorizedOperation', 'ec2.amazonaws.com', 'DescribeVolumes'],
  ])('matches denied reads (%s on %s %s)', (errorCode, eventSource, eventName) => {
    expect(matchesEventPattern(pattern, cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource, eventName, readOnly: true, errorCode }))).toBe(true);
  });

  test('matches denied writes', () => {
    expect(
      matchesEventPattern(
        pattern,
        cloudTrailEvent({
          roleArn: AGENT_ROLE_ARN,
          eventSource: 'kms.amazonaws.com',
          eventName: 'ScheduleKeyDeletion',
          errorCode: 'AccessDeniedException',
        }),
      ),
    ).toBe(true);
  });

  test('does not match reads that failed for reasons other than a denial', () => {
    expect(
      matchesEventPattern(
        pattern,
        cloudTrailEvent({
          roleArn: AGENT_ROLE_ARN,
          eventSource: 'dynamodb.amazonaws.com',
          eventName: 'DescribeTable',
          readOnly: true,
          errorCode: 'ResourceNotFoundException',
        }),
      ),
    ).toBe(false);
  });

  test('does not match calls of other principals: another role, a human user, the root user', () => {
    expect(matchesEventPattern(pattern, cloudTrailEvent({ roleArn: `arn:aws:iam::${ACCOUNT}:role/admin`, eventName: 'DeleteTable' }))).toBe(false);
    const user = cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventName: 'DeleteTable' });
    (user.detail as any).userIdentity = {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      userName: 'alice',
    };
    expect(matchesEventPattern(pattern, user)).toBe(false);
    const root = cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventName: 'DeleteTable' });
    (root.detail as any).userIdentity = { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
    expect(matchesEventPattern(pattern, root)).toBe(false);
  });

  test('does not match a forged event: a custom source or another detail type', () => {
    const forged = { ...cloudTrailEvent({ roleArn: AGENT_ROLE_ARN }), source: 'custom.agent' };
    expect(matchesEventPattern(pattern, forged)).toBe(false);
    const other = { ...cloudTrailEvent({ roleArn: AGENT_ROLE_ARN }), 'detail-type': 'AWS Console Sign In via CloudTrail' };
    expect(matchesEventPattern(pattern, other)).toBe(false);
  });

  test('every event the pattern matches is counted by the handler, and every event it drops would not count', () => {
    const samples = [
      cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventName: 'DeleteTable' }),
      cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource: 'sqs.amazonaws.com', eventName: 'DeleteMessage' }),
      cloudTrailEvent({ roleArn: AGENT_ROLE_ARN, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', readOnly: true }),
      cloudTrailEvent({
        roleArn: AGENT_ROLE_ARN,
        eventSource: 'ec2.amazonaws.com',
        eventName: 'DescribeInstances',
        readOnly: true,
        errorCode: 'Client.UnauthorizedOperation',
      }),
      cloudTrailEvent({
        roleArn: AGENT_ROLE_ARN,
        eventSource: 'dynamodb.amazonaws.com',
        eventName: 'DescribeTable',
        readOnly: true,
        errorCode: 'ResourceNotFoundException',
      }),
    ];
    for (const sample of samples) {
      const kind = classifyEvent(sample.detail!);
      expect(matchesEventPattern(pattern, sample)).toBe(kind.write || kind.denied);
    }
  });
});

describe('event classification', () => {
  test.each([
    ['lambda.amazonaws.com', 'DeleteFunction20150331', 'lambda:DeleteFunction', true],
    ['monitoring.amazonaws.com', 'DeleteAlarms', 'cloudwatch:DeleteAlarms', true],
    ['kms.amazonaws.com', 'ScheduleKeyDeletion', 'kms:ScheduleKeyDeletion', true],
    ['ec2.amazonaws.com', 'CreateTags', 'ec2:CreateTags', true],
    ['sqs.amazonaws.com', 'DeleteMessage', 'sqs:DeleteMessage', false],
    ['dynamodb.amazonaws.com', 'PutItem', 'dynamodb:PutItem', false],
    ['newservice.amazonaws.com', 'DestroyEverything', 'newservice:DestroyEverything', true],
    ['newservice.amazonaws.com', 'CreateThing', 'newservice:CreateThing', false],
  ])('%s %s is %s, destructive: %s', (eventSource, eventName, action, destructive) => {
    expect(classifyEvent({ eventSource, eventName, readOnly: false })).toEqual({ action, destructive, write: true, denied: false });
  });

  test('an event without its readOnly flag counts as a write (fail closed)', () => {
    expect(classifyEvent({ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances' }).write).toBe(true);
  });
});

describe('the local pattern matcher', () => {
  test('follows EventBridge semantics for the operators the rule uses', () => {
    expect(matchesEventPattern({ a: [{ prefix: 'aws.' }] }, { a: 'aws.s3' })).toBe(true);
    expect(matchesEventPattern({ a: [{ prefix: 'aws.' }] }, { a: 'awsx' })).toBe(false);
    expect(matchesEventPattern({ a: [false] }, { a: false })).toBe(true);
    expect(matchesEventPattern({ a: [false] }, { a: 'false' })).toBe(false);
    expect(matchesEventPattern({ a: [false] }, {})).toBe(false);
    expect(matchesEventPattern({ $or: [{ a: ['x'] }, { b: ['y'] }] }, { b: 'y' })).toBe(true);
    expect(matchesEventPattern({ $or: [{ a: ['x'] }, { b: ['y'] }] }, { a: 'y', b: 'x' })).toBe(false);
    expect(matchesEventPattern({ a: { b: ['1'] } }, { a: { b: ['0', '1'] } })).toBe(true);
    expect(matchesEventPattern({ a: [{ exists: false }] }, {})).toBe(true);
    expect(matchesEventPattern({ a: [{ 'anything-but': ['x'] }] }, { a: 'y' })).toBe(true);
    expect(matchesEventPattern({ n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 5 })).toBe(true);
    expect(matchesEventPattern({ n: [{ numeric: ['>', 0, '<=', 5] }] }, { n: 6 })).toBe(false);
  });

  test('fails on an operator it does not implement rather than guessing', () => {
    expect(() => matchesEventPattern({ a: [{ cidr: '10.0.0.0/8' }] }, { a: '10.0.0.1' })).toThrow(/does not implement/);
  });
});
