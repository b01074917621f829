/**
 * The example app with `addAuditAndBreaker`: the breaker watches the example agent, and the agent
 * can neither lift its quarantine nor touch the breaker.
 */
import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentStack, buildApp } from '../../examples/production-app/main';
import { CircuitBreaker } from '../../lib/circuit-breaker/circuit-breaker';
import { effectivePolicies, exportsOf, logicalIdOf } from '../support/effective-policies';
import { matchesEventPattern } from '../support/event-pattern-matcher';
import { decide } from '../support/simulate';
import { Template, TemplateResolver } from '../support/template-resolver';
import { cloudTrailEvent } from './breaker-fixtures';

test('the example agent is watched by the breaker and cannot lift its quarantine or disable the breaker', async () => {
  // GIVEN the example app, whose agent stack adds the audit trail and the breaker (addAuditAndBreaker)
  const app = buildApp(new App());
  const agentStack = app.node.findChild('Agent') as AgentStack;
  const breaker = agentStack.node.findChild('CircuitBreaker') as CircuitBreaker;
  const assembly = app.synth();
  const template = assembly.getStackByName('Agent').template as Template;
  const resolver = new TemplateResolver(template);
  const roleId = agentStack.getLogicalId(agentStack.agent.node.defaultChild as iam.CfnRole);
  const roleArn = resolver.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] });
  // THEN the rule takes the example agent's write calls, and nobody else's
  // (the breaker's own rule: the approval gate of the same stack has rules of its own)
  const [, rule] = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Events::Rule' && id.startsWith('CircuitBreaker'))!;
  const pattern = resolver.resolve(rule.Properties.EventPattern);
  expect(matchesEventPattern(pattern, cloudTrailEvent({ roleArn, eventName: 'DeleteTable' }))).toBe(true);
  expect(matchesEventPattern(pattern, cloudTrailEvent({ roleArn: 'arn:aws:iam::123456789012:role/deploy', eventName: 'DeleteTable' }))).toBe(false);
  expect(breaker.watched.map((w) => [w.agentName, w.maxDestructiveCalls, w.maxDeniedCalls, w.windowSeconds])).toEqual([
    ['ops-assistant', 5, 10, 300],
  ]);
  // AND the agent cannot remove its quarantine nor disable the breaker
  const agent = effectivePolicies(template, roleId, exportsOf(assembly.stacks.map((s) => s.template as Template)));
  await expect(decide(agent, { action: 'iam:DeleteRolePolicy', resource: roleArn, tags: { 'guardrails:agent': 'ops-assistant' } })).resolves.toBe(
    'ExplicitlyDenied',
  );
  const ruleArn = resolver.resolve({ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::Events::Rule', 'CircuitBreakerAgentCalls'), 'Arn'] });
  await expect(decide(agent, { action: 'events:DisableRule', resource: ruleArn, tags: { 'guardrails:component': 'circuit-breaker' } })).resolves.toBe(
    'ExplicitlyDenied',
  );
  // AND the stack tells the operator how to reset
  expect(JSON.stringify((template as { Outputs?: unknown }).Outputs)).toContain('breaker reset ops-assistant --role-name');
});
