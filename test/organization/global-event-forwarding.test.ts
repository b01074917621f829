import { App, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { OrganizationGuardrails } from '../../lib/organization/organization-guardrails';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { GuardrailsError, GuardrailsErrorKind } from '../../lib/shared/errors';
import { GLOBAL_EVENT_SOURCES, GlobalEventForwarding, GlobalEventForwardingProps } from '../../lib/organization/global-event-forwarding';
import { breakerEventPattern } from '../../lib/circuit-breaker/runtime/breaker-events';
import { matchesEventPattern } from '../support/event-pattern-matcher';

const AGENT = 'arn:aws:iam::123456789012:role/ops-agent';

function stackIn(region?: string): Stack {
  return new Stack(new App(), 'Global', region ? { env: { account: '123456789012', region } } : {});
}

/** A CloudTrail management event, as EventBridge delivers it. */
function cloudTrailEvent(source: string, eventName: string, options: { readOnly?: boolean; errorCode?: string; role?: string } = {}) {
  return {
    'source': source,
    'detail-type': 'AWS API Call via CloudTrail',
    'region': 'us-east-1',
    'detail': {
      eventName, eventSource: `${source.slice(4)}.amazonaws.com`, readOnly: options.readOnly ?? false,
      ...(options.errorCode ? { errorCode: options.errorCode } : {}),
      userIdentity: { type: 'AssumedRole', sessionContext: { sessionIssuer: { arn: options.role ?? AGENT } } },
    },
  };
}

function errorOf(build: () => unknown): GuardrailsError {
  try {
    build();
  } catch (e) {
    if (GuardrailsError.isGuardrailsError(e)) return e;
    throw e;
  }
  throw new Error('expected a GuardrailsError');
}

describe('GlobalEventForwarding', () => {
  test('forwards the global services\' write and denied calls from us-east-1 to the breaker region\'s default bus', () => {
    // GIVEN a us-east-1 stack
    const stack = stackIn('us-east-1');
    // WHEN global events are forwarded to a breaker in eu-west-1
    const forwarding = new GlobalEventForwarding(stack, 'Forwarding', { breakerRegion: 'eu-west-1', agentRoleArns: [AGENT] });
    const template = Template.fromStack(stack);
    // THEN one rule targets the default bus of eu-west-1, with a role allowed to put events there and a dead-letter queue
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({
        Arn: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':events:eu-west-1:')])] },
        RoleArn: Match.anyValue(),
        DeadLetterConfig: Match.anyValue(),
      })],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'events:PutEvents' })] },
    });
    // AND its pattern matches an agent's IAM write and a denied STS call, not a read nor another principal's call
    const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
    const pattern = rule.Properties.EventPattern;
    expect(matchesEventPattern(pattern, cloudTrailEvent('aws.iam', 'AttachRolePolicy'))).toBe(true);
    expect(matchesEventPattern(pattern, cloudTrailEvent('aws.sts', 'AssumeRole', { readOnly: true, errorCode: 'AccessDenied' }))).toBe(true);
    expect(matchesEventPattern(pattern, cloudTrailEvent('aws.iam', 'GetRole', { readOnly: true }))).toBe(false);
    const deployer = 'arn:aws:iam::123456789012:role/deployer';
    expect(matchesEventPattern(pattern, cloudTrailEvent('aws.iam', 'AttachRolePolicy', { role: deployer }))).toBe(false);
    expect(matchesEventPattern(pattern, cloudTrailEvent('aws.ec2', 'TerminateInstances'))).toBe(false);
    // AND the breaker's own rule, in eu-west-1, counts the forwarded event
    expect(matchesEventPattern(breakerEventPattern([AGENT]), cloudTrailEvent('aws.iam', 'AttachRolePolicy'))).toBe(true);
    expect(forwarding.rule).toBeDefined();
    expect(GLOBAL_EVENT_SOURCES).toEqual(expect.arrayContaining(['aws.iam', 'aws.sts', 'aws.organizations']));
  });

  test('OrganizationGuardrails and GlobalEventForwarding pass AwsSolutionsChecks and AgentGuardrailsChecks with no finding', () => {
    // GIVEN both organization constructs, with a member rollout
    const stack = stackIn('us-east-1');
    new OrganizationGuardrails(stack, 'Guard', {
      targetIds: ['r-ab12'],
      memberAccountRollout: { templateUrl: 'https://b.s3.amazonaws.com/member.json', organizationalUnitIds: ['r-ab12'], regions: ['eu-west-1'] },
    });
    new GlobalEventForwarding(stack, 'Forwarding', { breakerRegion: 'eu-west-1' });
    const app = stack.node.root as App;
    app.synth();
    // WHEN both rule packs check the app
    const findings: string[] = [];
    for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
      for (const v of pack.validateScope(app).violations) findings.push(...v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
    }
    // THEN there is none
    expect(findings).toEqual([]);
  });

  test('warns when its stack has no explicit region', () => {
    const stack = stackIn();
    new GlobalEventForwarding(stack, 'Forwarding', { breakerRegion: 'eu-west-1' });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('forwards global-service events only when deployed to us-east-1'));
  });

  test.each<[string, string, Partial<GlobalEventForwardingProps>, RegExp]>([
    ['a breaker region that is no region', 'us-east-1', { breakerRegion: 'europe' }, /breakerRegion "europe" is not an AWS region/],
    ['a stack outside us-east-1', 'eu-west-1', { breakerRegion: 'eu-west-2' },
      /its stack is in eu-west-1, but global-service events arrive in us-east-1/],
    ['a breaker in us-east-1 already', 'us-east-1', { breakerRegion: 'us-east-1' }, /the breaker is in us-east-1 already/],
    ['an empty list of agent roles', 'us-east-1', { breakerRegion: 'eu-west-1', agentRoleArns: [] }, /agentRoleArns is empty/],
    ['a source that is no AWS source', 'us-east-1', { breakerRegion: 'eu-west-1', sources: ['my.app'] }, /sources must be AWS event sources/],
  ])('fails when given %s', (_label, region, props, message) => {
    const error = errorOf(() => new GlobalEventForwarding(stackIn(region), 'Forwarding', { breakerRegion: 'eu-west-1', ...props }));
    expect(error.kind).toBe(GuardrailsErrorKind.INVALID_PROPS);
    expect(error.message).toMatch(message);
    expect(error.fix).toBeTruthy();
  });
});
