/**
 * `globalEventsForwarded`: a breaker outside us-east-1 never sees the global services' events
 * (IAM, STS, Organizations, CloudFront, Route 53 arrive in us-east-1 only) unless they are forwarded:
 * synth warns and names the fix; forwarded events match the breaker's synthesized rule and count.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AgentRole } from '../../lib/guard/agent-role';
import { CircuitBreaker, CircuitBreakerProps } from '../../lib/circuit-breaker/circuit-breaker';
import { GlobalEventForwarding } from '../../lib/organization/global-event-forwarding';
import { classifyEvent } from '../../lib/circuit-breaker/runtime/breaker-events';
import { matchesEventPattern } from '../support/event-pattern-matcher';

const ACCOUNT = '123456789012';
const WARNING = 'cdk-agent-guardrails:breaker-global-events';

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly breaker: CircuitBreaker;
}

function breakerIn(region: string | undefined, props: Partial<CircuitBreakerProps> = {}, app = new App()): Built {
  const stack = new Stack(app, `Breaker${region ?? 'Agnostic'}`.replace(/-/g, ''), region ? { env: { account: ACCOUNT, region } } : {});
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
  const breaker = new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }], ...props });
  return { app, stack, breaker };
}

function forwardingTo(app: App, breakerRegion: string): GlobalEventForwarding {
  const stack = new Stack(app, `Forward${breakerRegion.replace(/-/g, '')}`, { env: { account: ACCOUNT, region: 'us-east-1' } });
  return new GlobalEventForwarding(stack, 'Forward', { breakerRegion });
}

function warnings(built: Built): string[] {
  built.app.synth();
  return Annotations.fromStack(built.stack)
    .findWarning('*', Match.stringLikeRegexp(WARNING))
    .map((w) => String(w.entry.data));
}

describe('a breaker outside us-east-1', () => {
  test('fails when it is deaf to IAM, STS and Route 53 calls without a word: synth warns and names the fix', () => {
    const [warning, ...more] = warnings(breakerIn('eu-west-1'));
    expect(more).toEqual([]);
    expect(warning).toContain('CircuitBreaker Breakereuwest1/Breaker is in eu-west-1:');
    expect(warning).toContain('arrive in us-east-1 only');
    expect(warning).toContain("new GlobalEventForwarding(stack, 'Forward', { breakerRegion: 'eu-west-1' })");
    expect(warning).toContain('globalEventsForwarded: true');
  });

  test('with globalEventsForwarded set (forwarding deployed elsewhere), no warning', () => {
    expect(warnings(breakerIn('eu-west-1', { globalEventsForwarded: true }))).toEqual([]);
  });

  test('with a GlobalEventForwarding to its region in the app, no warning (whichever is added first)', () => {
    const app = new App();
    forwardingTo(app, 'eu-west-1');
    expect(warnings(breakerIn('eu-west-1', {}, app))).toEqual([]);
    const later = breakerIn('eu-west-1', {}, new App());
    forwardingTo(later.app, 'eu-west-1');
    expect(warnings(later)).toEqual([]);
  });

  test('fails when a forwarding to another region counts as forwarding to this one: still warns', () => {
    const app = new App();
    forwardingTo(app, 'eu-central-1');
    expect(warnings(breakerIn('eu-west-1', {}, app))).toHaveLength(1);
  });

  test('in a stack without an explicit region, warns for the case it is deployed outside us-east-1', () => {
    const [warning] = warnings(breakerIn(undefined));
    expect(warning).toContain('in a stack without an explicit region (if deployed outside us-east-1)');
  });

  test('in us-east-1 it sees the global events itself: no warning', () => {
    expect(warnings(breakerIn('us-east-1'))).toEqual([]);
  });
});

describe('forwarded global events', () => {
  test('fails when a forwarded IAM deletion does not reach the handler: it matches the forwarding rule, then the breaker rule, and counts', () => {
    // GIVEN a breaker in eu-west-1 and the forwarding in us-east-1, synthesized
    const app = new App();
    const forwarding = forwardingTo(app, 'eu-west-1');
    const built = breakerIn('eu-west-1', { globalEventsForwarded: true }, app);
    app.synth();
    const forwardPattern = Template.fromStack(Stack.of(forwarding)).findResources('AWS::Events::Rule');
    const breakerRules = Template.fromStack(built.stack).findResources('AWS::Events::Rule');
    const [forwardRule] = Object.values(forwardPattern);
    const [breakerRule] = Object.values(breakerRules);
    const roleArn = built.stack.resolve(built.breaker.watched[0].roleArn);
    // A resolved role ARN: the test compares the pattern with an event, so the ARN must be literal.
    const arn = typeof roleArn === 'string' ? roleArn : `arn:aws:iam::${ACCOUNT}:role/ops-assistant`;
    const breakerPattern = JSON.parse(JSON.stringify(breakerRule.Properties.EventPattern).split(JSON.stringify(roleArn)).join(JSON.stringify(arn)));
    // WHEN the agent deletes a role (delivered in us-east-1, forwarded unchanged to eu-west-1's default bus)
    const event = {
      'version': '0',
      'id': 'a1',
      'source': 'aws.iam',
      'detail-type': 'AWS API Call via CloudTrail',
      'account': ACCOUNT,
      'region': 'us-east-1',
      'detail': {
        eventSource: 'iam.amazonaws.com',
        eventName: 'DeleteRole',
        readOnly: false,
        eventID: 'e1',
        userIdentity: { type: 'AssumedRole', sessionContext: { sessionIssuer: { type: 'Role', arn } } },
      },
    };
    // THEN both rules match it, and the handler counts it as destructive
    expect(matchesEventPattern(forwardRule.Properties.EventPattern, event)).toBe(true);
    expect(matchesEventPattern(breakerPattern, event)).toBe(true);
    expect(classifyEvent(event.detail)).toMatchObject({ action: 'iam:DeleteRole', write: true, destructive: true });
    // AND another principal's call does not match the breaker
    const other = {
      ...event,
      detail: { ...event.detail, userIdentity: { sessionContext: { sessionIssuer: { arn: `arn:aws:iam::${ACCOUNT}:role/human` } } } },
    };
    expect(matchesEventPattern(breakerPattern, other)).toBe(false);
  });
});
