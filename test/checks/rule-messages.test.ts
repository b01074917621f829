/**
 * Issue 12 item 7: every rule message prints the concrete value it found (the action, the principal, the state, the
 * table's missing protection, the class and resource), never a placeholder such as "(finding: which)".
 */
import { App, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { cdkInitContext } from '../verify/cdk-init-context';

/** Rules whose text names what a finding is: each must print the value instead. */
const PLACEHOLDER_RULES = AgentGuardrailsChecks.rules()
  .filter((r) => /\(finding: [^)]*\)/.test(r.info))
  .map((r) => r.id);

function failingApp(): App {
  const app = new App({ context: cdkInitContext() });
  const stack = new Stack(app, 'Prod', { env: { account: ACCOUNT, region: REGION } });
  Tags.of(stack).add('environment', 'production');
  // PR2, PR6: a production table without deletion protection or point-in-time recovery, destroyed on removal
  new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, removalPolicy: RemovalPolicy.DESTROY });
  // AG3, AG8, AG9: an agent service's role, unpinned, with a wildcard grant
  const bot = new iam.Role(stack, 'Bot', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
  bot.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
  // AP1: a hand-written approval wait without a timeout
  new sfn.StateMachine(stack, 'Manual', {
    definitionBody: sfn.DefinitionBody.fromChainable(
      new sfn.CustomState(stack, 'AskHuman', {
        stateJson: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
          Parameters: { 'QueueUrl': `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/approvals`, 'MessageBody.$': '$$.Task.Token' },
        },
      }),
    ),
  });
  // AP2: an approval gate an agent approves
  new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [`arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`] })],
    approvers: [Approver.role(bot)],
    timeout: Duration.hours(4),
  });
  app.synth();
  return app;
}

describe('rule messages', () => {
  test('the rules that name what a finding is are the ones this test fails', () => {
    expect(PLACEHOLDER_RULES.length).toBeGreaterThanOrEqual(6);
  });

  test('fails when a message prints a placeholder instead of the value found, for every rule with one', () => {
    // GIVEN an app that fails each rule whose text names its finding
    const app = failingApp();
    // WHEN the pack validates it
    const violations = new AgentGuardrailsChecks(app).validateScope(app).violations;
    // THEN each such rule reported, and each message carries the concrete value (the finding) and no placeholder
    const reported = new Set(violations.map((v) => v.ruleName.replace(/\[.*$/, '')));
    expect(PLACEHOLDER_RULES.filter((id) => !reported.has(id))).toEqual([]);
    for (const v of violations) {
      expect(v.description).not.toMatch(/\(finding: /);
      const finding = /\[(.*)\]$/.exec(v.ruleName)?.[1];
      if (finding === undefined) continue;
      // AG9 prints the class and resource with the actions and statements; the others the finding itself
      const value = v.ruleName.startsWith('AgentGuardrails-AG9[') ? finding.split('::')[1] : finding;
      expect({ rule: v.ruleName, contains: v.description.includes(value) }).toEqual({ rule: v.ruleName, contains: true });
    }
    // and the values are the real ones
    const text = violations.map((v) => v.description).join('\n');
    expect(text).toContain('State::AskHuman');
    expect(text).toContain('Principal::bedrock.amazonaws.com');
    expect(text).toMatch(
      /it can destroy \(destructive\) the production resource Prod\/Orders: [^.]*dynamodb:DeleteTable \(allowed by Prod\/BotDefaultPolicy/,
    );
  });
});
