/** Synthesizes an agent with an AuditTrail and a CircuitBreaker, and collects what the tests evaluate. */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib/guard/agent-role';
import { AuditTrail } from '../../lib/audit-trail/audit-trail';
import { CircuitBreaker, CircuitBreakerProps } from '../../lib/circuit-breaker/circuit-breaker';
import { EffectivePolicies, effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { SynthesizedAgent, synthAgent } from '../support/fixtures';
import { TemplateResolver } from '../support/template-resolver';

export interface BreakerFixture extends SynthesizedAgent {
  readonly breaker: CircuitBreaker;
  readonly audit: AuditTrail;
  /** The handler role's policies as IAM evaluates them. */
  readonly handlerPolicies: EffectivePolicies;
  readonly resolver: TemplateResolver;
  /** ARN of the resource of a type whose logical id starts with a prefix. */
  arnOf(type: string, prefix: string): string;
}

export function synthBreaker(
  props: Partial<CircuitBreakerProps> = {},
  configure: (stack: Stack, agent: AgentRole) => void = () => undefined,
): BreakerFixture {
  let breaker!: CircuitBreaker;
  let audit!: AuditTrail;
  const synthesized = synthAgent((stack, agent) => {
    agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    configure(stack, agent);
    audit = new AuditTrail(stack, 'Audit');
    breaker = new CircuitBreaker(stack, 'Breaker', { agents: [{ agent }], ...props });
  });
  const template = synthesized.template;
  const handlerRoleId = logicalIdOf(template, 'AWS::IAM::Role', 'BreakerHandlerServiceRole');
  // The handler's role carries no managed policy (no AWSLambdaBasicExecutionRole): its inline
  // policies are the whole of what it may do, logs included (its own log group only).
  expect(template.Resources[handlerRoleId].Properties.ManagedPolicyArns).toBeUndefined();
  const handlerPolicies = effectivePolicies(template, handlerRoleId);
  const resolver = new TemplateResolver(template);
  const ATTR: Record<string, string> = { 'AWS::SNS::Topic': 'ref', 'AWS::SQS::Queue': 'Arn' };
  return {
    ...synthesized,
    breaker,
    audit,
    handlerPolicies,
    resolver,
    arnOf(type, prefix) {
      const id = logicalIdOf(template, type, prefix);
      return ATTR[type] === 'ref' ? resolver.resolve({ Ref: id }) : resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
    },
  };
}
