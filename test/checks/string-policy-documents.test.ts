/**
 * CloudFormation takes a policy document as an object or as JSON text (escape-hatch overrides, included templates).
 * After synthesis the pack reads the templates, so it must read text documents as IAM does: review of issue 16 found AG9
 * sharing one decision between agents whose text documents differ, and text documents read as "no statements".
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION } from '../support/template-resolver';

const BUCKET = 'arn:aws:s3:::prod-bucket';

/** CDK's own template validation refuses a text PolicyDocument (E3510) when its findings are errors: an app that keeps them warnings. */
const newApp = () => new App();

/** A Bedrock-trusted role allowed s3:DeleteBucket on the production bucket, plus a policy whose document is JSON text. */
function agentWithTextPolicy(stack: Stack, id: string, text: object, objectGrant = true): iam.Role {
  const role = new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
  if (objectGrant) role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteBucket'], resources: [BUCKET] }));
  const policy = new iam.CfnPolicy(stack, `${id}Text`, { policyName: `${id}-text`, roles: [role.roleName], policyDocument: {} });
  policy.addPropertyOverride('PolicyDocument', JSON.stringify({ Version: '2012-10-17', Statement: [text] }));
  return role;
}

/** The AG9 findings of the synthesized app, by the construct path of the role they name. */
function harmFindingsByRole(app: App, roles: iam.Role[]): Map<string, number> {
  const report = new AgentGuardrailsChecks(app).validateScope(app);
  const found = new Map<string, number>(roles.map((r) => [r.node.path, 0]));
  for (const v of report.violations.filter((x) => x.ruleName.startsWith('AgentGuardrails-AG9'))) {
    const text = JSON.stringify(v);
    for (const role of roles) {
      if (text.includes(`${role.node.path}/`) || text.includes(`"${role.node.path}"`)) found.set(role.node.path, found.get(role.node.path)! + 1);
    }
  }
  return found;
}

/** The role's identity policies as the synthesized template holds them, text documents parsed (the simulator's input). */
function templatePolicies(app: App, stack: Stack, role: iam.Role) {
  const template = app.synth().getStackByName(stack.stackName).template;
  const logicalId = stack.resolve((role.node.defaultChild as iam.CfnRole).logicalId);
  const policies = Object.entries<any>(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(logicalId))
    .map(([name, r]) => {
      const document = r.Properties.PolicyDocument;
      return { name, policy: typeof document === 'string' ? JSON.parse(document) : document };
    });
  return { identityPolicies: policies };
}

describe('policy documents written as JSON text', () => {
  test.each([
    ['denying agent first', ['Denied', 'Allowed']],
    ['allowing agent first', ['Allowed', 'Denied']],
  ])('fails when an agent that can delete a production bucket is not reported as another agent was decided first (%s)', async (_, order) => {
    // GIVEN two agents granted s3:DeleteBucket on the production bucket, each with a text policy: one denies it, one allows s3:*
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    new s3.Bucket(stack, 'Prod', { bucketName: 'prod-bucket', versioned: true });
    const roles: Record<string, iam.Role> = {};
    for (const name of order) {
      const deny = { Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' };
      const text = name === 'Denied' ? deny : { Effect: 'Allow', Action: 's3:*', Resource: '*' };
      roles[name] = agentWithTextPolicy(stack, name, text);
    }
    app.synth();
    // WHEN the pack runs on the synthesized app
    const found = harmFindingsByRole(app, Object.values(roles));
    // THEN the allowed agent is reported and the denied one is not, whichever was decided first
    expect(found.get(roles.Allowed.node.path)).toBeGreaterThan(0);
    expect(found.get(roles.Denied.node.path)).toBe(0);
    // AND the simulator agrees on the synthesized documents
    expect(await decide(templatePolicies(app, stack, roles.Allowed), { action: 's3:DeleteBucket', resource: BUCKET })).toBe('Allowed');
    expect(await decide(templatePolicies(app, stack, roles.Denied), { action: 's3:DeleteBucket', resource: BUCKET })).toBe('ExplicitlyDenied');
  });

  test('fails when an agent whose only grant is a text policy is not reported', async () => {
    // GIVEN an agent whose only policy is text allowing s3:DeleteBucket on the production bucket
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    new s3.Bucket(stack, 'Prod', { bucketName: 'prod-bucket', versioned: true });
    const role = agentWithTextPolicy(stack, 'OnlyText', { Effect: 'Allow', Action: 's3:DeleteBucket', Resource: BUCKET }, false);
    app.synth();
    // WHEN the pack runs THEN it reports the harm the simulator confirms
    expect(harmFindingsByRole(app, [role]).get(role.node.path)).toBeGreaterThan(0);
    expect(await decide(templatePolicies(app, stack, role), { action: 's3:DeleteBucket', resource: BUCKET })).toBe('Allowed');
  });

  test("fails when an agent's trust policy written as text hides that it can be assumed without a source identity (AG8)", () => {
    // GIVEN a role tagged as an agent whose trust policy is overridden to text trusting the account root, with no condition
    const app = newApp();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(stack, 'Tagged', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
    (role.node.defaultChild as iam.CfnRole).addPropertyOverride(
      'AssumeRolePolicyDocument',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }],
      }),
    );
    app.synth();
    // WHEN the pack runs THEN AG8 names the principal
    const ids = new AgentGuardrailsChecks(app).validateScope(app).violations.map((v) => v.ruleName);
    expect(ids.some((id) => id.startsWith('AgentGuardrails-AG8'))).toBe(true);
  });
});
