/**
 * AgentGuardrailsChecks, one rule at a time, in cdk-nag's own test style: build a stack, run the
 * pack, and look for the rule id (or one of its finding ids) among the violations.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagMessageLevel } from 'cdk-nag';
import { AgentRole } from '../../lib/guard/agent-role';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { AgentGuardrailsChecks, AgentGuardrailsChecksProps } from '../../lib/checks/agent-guardrails-checks';
import { ProductionGuard } from '../../lib/guard/production-guard';
import { ProductionScope } from '../../lib/guard/production-scope';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { cdkInitContext } from '../verify/cdk-init-context';

enum TestType {
  NON_COMPLIANCE,
  COMPLIANCE,
  /** The rule reported that it cannot decide (a thrown rule is a violation in cdk-nag). */
  CANNOT_DECIDE,
}

let app: App;
let stack: Stack;

beforeEach(() => {
  app = new App({ context: cdkInitContext() });
  stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: REGION } });
});

function violationsOf(props: AgentGuardrailsChecksProps = {}) {
  // Synthesis applies the Tags aspects the rules read.
  app.synth();
  return new AgentGuardrailsChecks(app, props).validateScope(app).violations;
}

/** cdk-nag's validateStack, for the pack: `ruleId` may name one finding (`AG3[Action::s3:*]`). */
function validateStack(ruleId: string, type: TestType, props: AgentGuardrailsChecksProps = {}): void {
  const fullId = `AgentGuardrails-${ruleId}`;
  const violations = violationsOf(props);
  const matching = violations.filter((v) => v.ruleName === fullId || v.ruleName.startsWith(`${fullId}[`));
  const undecided = matching.filter((v) => v.description.includes('threw an error'));
  switch (type) {
    case TestType.COMPLIANCE:
      expect(matching.map((v) => v.ruleName)).toEqual([]);
      break;
    case TestType.NON_COMPLIANCE:
      expect(matching.length).toBeGreaterThan(0);
      expect(undecided.map((v) => v.description)).toEqual([]);
      break;
    case TestType.CANNOT_DECIDE:
      expect(undecided.length).toBeGreaterThan(0);
      expect(undecided[0].description).toContain('cannot decide');
      break;
  }
}

const bedrock = () => new iam.ServicePrincipal('bedrock.amazonaws.com');
const pinnedBedrock = () => new iam.PrincipalWithConditions(bedrock(), { StringEquals: { 'aws:SourceAccount': ACCOUNT } });
function plainAgent(props: Partial<iam.RoleProps> = {}): iam.Role {
  return new iam.Role(stack, 'Agent', { assumedBy: bedrock(), ...props });
}
function agentRole(props: Partial<ConstructorParameters<typeof AgentRole>[2]> = {}): AgentRole {
  return new AgentRole(stack, 'Agent', { agentName: 'ops', assumedBy: new iam.AccountRootPrincipal(), ...props });
}

describe('the pack', () => {
  test('pins its rule ids and levels', () => {
    expect(AgentGuardrailsChecks.rules().map((r) => [r.id, r.level])).toEqual([
      ['AgentGuardrails-AG1', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG2', NagMessageLevel.WARN],
      ['AgentGuardrails-AG3', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG4', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG5', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG6', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG7', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG8', NagMessageLevel.ERROR],
      ['AgentGuardrails-AG9', NagMessageLevel.ERROR],
      ['AgentGuardrails-AP1', NagMessageLevel.ERROR],
      ['AgentGuardrails-AP2', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR1', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR2', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR3', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR4', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR5', NagMessageLevel.ERROR],
      ['AgentGuardrails-PR6', NagMessageLevel.ERROR],
    ]);
    expect(new AgentGuardrailsChecks().ruleIds).toEqual(AgentGuardrailsChecks.rules().map((r) => r.id));
  });

  test("the RULES.md table lists exactly the pack's rule ids and levels", () => {
    const table = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'RULES.md'), 'utf8');
    const rows = [...table.matchAll(/^\|\s*(AgentGuardrails-[A-Z]+\d+)\s*\|\s*(Error|Warning)\s*\|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(AgentGuardrailsChecks.rules().map((r) => [r.id, r.level]));
  });

  test('fails synth through Validations.of(app).addPlugins, and the report names the rule', () => {
    // GIVEN an unguarded Bedrock agent role and the pack registered the cdk-nag 3 way
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-checks-'));
    app = new App({ outdir, context: cdkInitContext() });
    stack = new Stack(app, 'Test', { env: { account: ACCOUNT, region: REGION } });
    plainAgent();
    Validations.of(app).addPlugins(new AgentGuardrailsChecks(app));
    // WHEN synthesized THEN synthesis fails, and the validation report carries the finding
    expect(() => app.synth()).toThrow(/AgentGuardrails-AG1/);
    const report = fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');
    expect(report).toContain('AgentGuardrails-AG1');
    expect(report).toContain('Test/Agent/Resource');
  });

  test('a finding acknowledged with Validations.of(construct).acknowledge is not reported; the others still are', () => {
    const role = plainAgent({
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess'), iam.ManagedPolicy.fromAwsManagedPolicyName('IAMFullAccess')],
    });
    Validations.of(role).acknowledge({ id: 'AgentGuardrails-AG4[Policy::PowerUserAccess]', reason: 'incident reproduction' });
    const names = violationsOf().map((v) => v.ruleName);
    expect(names).not.toContain('AgentGuardrails-AG4[Policy::PowerUserAccess]');
    expect(names).toContain('AgentGuardrails-AG4[Policy::IAMFullAccess]');
  });

  test('roles that are not agents are not checked by the agent rules', () => {
    new iam.Role(stack, 'LambdaRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
    });
    expect(violationsOf().filter((v) => v.ruleName.startsWith('AgentGuardrails-AG'))).toEqual([]);
  });
});

describe('which roles are agents', () => {
  test.each([
    ['trusted by Bedrock', () => plainAgent()],
    ['trusted by Bedrock AgentCore', () => plainAgent({ assumedBy: new iam.ServicePrincipal('bedrock-agentcore.amazonaws.com') })],
    [
      'trusted by an agent service among several',
      () => plainAgent({ assumedBy: new iam.CompositePrincipal(new iam.ServicePrincipal('lambda.amazonaws.com'), bedrock()) }),
    ],
    [
      'tagged guardrails:agent',
      () => Tags.of(plainAgent({ assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') })).add('guardrails:agent', 'runner'),
    ],
  ])('a role %s is an agent', (_name, build) => {
    build();
    validateStack('AG1', TestType.NON_COMPLIANCE);
  });

  test('a role named in agentRoles or agentRolePaths is an agent', () => {
    const role = new iam.Role(stack, 'CiRole', { assumedBy: new iam.AccountRootPrincipal() });
    validateStack('AG1', TestType.COMPLIANCE);
    validateStack('AG1', TestType.NON_COMPLIANCE, { agentRoles: [role] });
    validateStack('AG1', TestType.NON_COMPLIANCE, { agentRolePaths: ['Test/CiRole'] });
  });

  test('a role trusted by a service named in agentServicePrincipals is an agent', () => {
    new iam.Role(stack, 'SageMakerRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    validateStack('AG1', TestType.COMPLIANCE);
    validateStack('AG1', TestType.NON_COMPLIANCE, { agentServicePrincipals: ['sagemaker.amazonaws.com'] });
  });

  test('fails closed when the trust policy names a service only known at deploy time', () => {
    const service = new CfnParameter(stack, 'Service').valueAsString;
    new iam.Role(stack, 'Unknown', { assumedBy: new iam.ServicePrincipal(service) });
    validateStack('AG1', TestType.CANNOT_DECIDE);
  });
});

describe('AG1: agent role without the production guard', () => {
  test('Noncompliance: a plain role trusted by Bedrock', () => {
    plainAgent();
    validateStack('AG1', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: a guard attached only in part', () => {
    const role = plainAgent();
    const guard = new ProductionGuard(stack, 'Guard');
    role.addManagedPolicy(guard.managedPolicies[0]);
    validateStack('AG1', TestType.NON_COMPLIANCE);
  });
  test('Compliance: an AgentRole', () => {
    agentRole();
    validateStack('AG1', TestType.COMPLIANCE);
  });
  test('Compliance: a plain role with a ProductionGuard attached', () => {
    new ProductionGuard(stack, 'Guard').attachTo(plainAgent());
    validateStack('AG1', TestType.COMPLIANCE);
  });
  test('Cannot decide: no guard of the app, and an imported managed policy', () => {
    plainAgent({ managedPolicies: [iam.ManagedPolicy.fromManagedPolicyArn(stack, 'Imported', 'arn:aws:iam::123456789012:policy/team-guard')] });
    validateStack('AG1', TestType.CANNOT_DECIDE);
  });
});

describe('AG2: agent guard in the tagged-only scope', () => {
  test('Noncompliance: an AgentRole guarded in the tagged-only scope', () => {
    // the tagged-only guard needs more managed policies than the default quota of 10
    agentRole({ production: ProductionScope.taggedOnly(), managedPolicyQuota: 20 });
    validateStack('AG2[Scope::tagged-only]', TestType.NON_COMPLIANCE);
  });
  test('Compliance: the fail-closed scope', () => {
    agentRole();
    validateStack('AG2', TestType.COMPLIANCE);
  });
});

describe('AG3: wildcard and unknown grants', () => {
  test('Noncompliance: service-wide and all-action wildcards', () => {
    const role = plainAgent();
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['arn:aws:s3:::reports'] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['*'], resources: ['arn:aws:s3:::reports'] }));
    validateStack('AG3[Action::s3:*]', TestType.NON_COMPLIANCE);
    validateStack('AG3[Action::*]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: Resource "*" on an action that supports resource-level permissions', () => {
    plainAgent().addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 'ec2:DescribeInstances'], resources: ['*'] }));
    validateStack('AG3[Resource::*::s3:GetObject]', TestType.NON_COMPLIANCE);
    // ec2:DescribeInstances supports no resource-level permissions: "*" is the only choice
    validateStack('AG3[Resource::*::ec2:DescribeInstances]', TestType.COMPLIANCE);
  });
  test('Noncompliance: an unknown (misspelled) action, and NotAction', () => {
    const role = plainAgent();
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObjekt'], resources: ['arn:aws:s3:::reports/*'] }));
    role.addToPolicy(new iam.PolicyStatement({ notActions: ['iam:*'], resources: ['arn:aws:s3:::reports'] }));
    validateStack('AG3[UnknownAction::s3:GetObjekt]', TestType.NON_COMPLIANCE);
    validateStack('AG3[NotAction::iam:*]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: a wildcard grant in a customer managed policy of the app', () => {
    plainAgent().addManagedPolicy(
      new iam.ManagedPolicy(stack, 'Broad', { statements: [new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] })] }),
    );
    validateStack('AG3[Action::dynamodb:*]', TestType.NON_COMPLIANCE);
  });
  test('Compliance: named actions on the resources of the app (CDK grants)', () => {
    const role = plainAgent();
    new s3.Bucket(stack, 'Reports').grantRead(role);
    new dynamodb.TableV2(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }).grantReadWriteData(role);
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }));
    validateStack('AG3', TestType.COMPLIANCE);
  });
  test('Compliance: a broad grant an AgentRole recorded with its justification', () => {
    agentRole().allowBroad({
      actions: ['cloudwatch:*'],
      resources: ['*'],
      justification: 'the agent builds dashboards for every service it watches',
    });
    validateStack('AG3', TestType.COMPLIANCE);
  });
});

describe('AG4: broad AWS managed policies', () => {
  test.each(['AdministratorAccess', 'PowerUserAccess', 'IAMFullAccess', 'AmazonRDSFullAccess', 'job-function/SystemAdministrator'])(
    'Noncompliance: %s',
    (name) => {
      plainAgent({ managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(name)] });
      validateStack(`AG4[Policy::${name}]`, TestType.NON_COMPLIANCE);
    },
  );
  test('Compliance: a read-only AWS managed policy', () => {
    plainAgent({ managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')] });
    validateStack('AG4', TestType.COMPLIANCE);
  });
});

describe('AG5: agent role without a permissions boundary', () => {
  test('Noncompliance: no boundary', () => {
    plainAgent();
    validateStack('AG5', TestType.NON_COMPLIANCE);
  });
  test('Compliance: a boundary', () => {
    plainAgent({ permissionsBoundary: iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess') });
    validateStack('AG5', TestType.COMPLIANCE);
  });
});

describe('AG6: iam:PassRole or sts:AssumeRole on any role', () => {
  test('Noncompliance: iam:PassRole on "*"', () => {
    plainAgent().addToPolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: ['*'] }));
    validateStack('AG6[Action::iam:PassRole]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: sts:AssumeRole on every role of an account, through a wildcard action', () => {
    plainAgent().addToPolicy(new iam.PolicyStatement({ actions: ['sts:Assume*'], resources: ['arn:aws:iam::123456789012:role/*'] }));
    validateStack('AG6[Action::sts:AssumeRole]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: PowerUserAccess grants sts:AssumeRole on "*"', () => {
    plainAgent({ managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')] });
    validateStack('AG6[Action::sts:AssumeRole]', TestType.NON_COMPLIANCE);
    validateStack('AG6[Action::iam:PassRole]', TestType.COMPLIANCE);
  });
  test('Compliance: iam:PassRole on one named role', () => {
    plainAgent().addToPolicy(new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: ['arn:aws:iam::123456789012:role/build-runner'] }));
    validateStack('AG6', TestType.COMPLIANCE);
  });
  test('Compliance: an AgentRole with AdministratorAccess (its escalation denies decide)', () => {
    agentRole().addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    validateStack('AG6', TestType.COMPLIANCE);
  });
  test('Cannot decide: an AWS managed policy whose grants the rule does not know, and no deny', () => {
    plainAgent({ managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonBedrockFullAccess')] });
    validateStack('AG6', TestType.CANNOT_DECIDE);
  });
});

describe('AG7: session longer than the default without a justification', () => {
  test('Noncompliance: a plain agent role with 4-hour sessions', () => {
    plainAgent({ maxSessionDuration: Duration.hours(4) });
    validateStack('AG7', TestType.NON_COMPLIANCE);
  });
  test('Compliance: an AgentRole with 4-hour sessions and a written justification', () => {
    agentRole({ maxSessionDuration: Duration.hours(4), longSessionJustification: 'database migrations run for up to four hours' });
    validateStack('AG7', TestType.COMPLIANCE);
  });
  test('Compliance: the default of one hour', () => {
    plainAgent();
    validateStack('AG7', TestType.COMPLIANCE);
  });
  test('Cannot decide: a session length only known at deploy time', () => {
    const role = plainAgent();
    (role.node.defaultChild as iam.CfnRole).maxSessionDuration = new CfnParameter(stack, 'Session', { type: 'Number' }).valueAsNumber;
    validateStack('AG7', TestType.CANNOT_DECIDE);
  });
});

describe('AG8: trust policy without a source identity or source pinning', () => {
  test('Noncompliance: Bedrock without aws:SourceAccount / aws:SourceArn', () => {
    plainAgent();
    validateStack('AG8[Principal::bedrock.amazonaws.com]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: an account principal without sts:SourceIdentity', () => {
    plainAgent({ assumedBy: new iam.AccountRootPrincipal(), roleName: 'x' });
    Tags.of(stack).add('guardrails:agent', 'ops');
    validateStack('AG8', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: sts:SourceIdentity only under an IfExists operator (absent key passes)', () => {
    new iam.Role(stack, 'Agent', {
      assumedBy: new iam.PrincipalWithConditions(new iam.AccountRootPrincipal(), { StringLikeIfExists: { 'sts:SourceIdentity': 'ops-*' } }),
    });
    Tags.of(stack).add('guardrails:agent', 'ops');
    validateStack('AG8', TestType.NON_COMPLIANCE);
  });
  test('Compliance: Bedrock pinned with aws:SourceAccount', () => {
    plainAgent({ assumedBy: pinnedBedrock() });
    validateStack('AG8', TestType.COMPLIANCE);
  });
  test('Compliance: an AgentRole (sts:SourceIdentity required)', () => {
    agentRole();
    validateStack('AG8', TestType.COMPLIANCE);
  });
});

describe('PR1: production database without deletion protection', () => {
  const instance = (deletionProtection: unknown) =>
    new rds.CfnDBInstance(stack, 'Db', { dbInstanceClass: 'db.t3.micro', engine: 'postgres', deletionProtection: deletionProtection as boolean });
  test('Noncompliance: an untagged instance (fail closed: production)', () => {
    instance(false);
    validateStack('PR1', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: an Aurora cluster in a stack tagged production', () => {
    Tags.of(stack).add('environment', 'production');
    new rds.CfnDBCluster(stack, 'Cluster', { engine: 'aurora-postgresql' });
    validateStack('PR1', TestType.NON_COMPLIANCE);
  });
  test('Compliance: deletion protection on', () => {
    instance(true);
    validateStack('PR1', TestType.COMPLIANCE);
  });
  test('Compliance: a database tagged dev', () => {
    Tags.of(instance(false)).add('environment', 'dev');
    validateStack('PR1', TestType.COMPLIANCE);
  });
  test('Compliance: an untagged database under the tagged-only scope', () => {
    instance(false);
    validateStack('PR1', TestType.COMPLIANCE, { production: ProductionScope.taggedOnly() });
  });
  test('Cannot decide: deletion protection from a parameter', () => {
    instance(new CfnParameter(stack, 'Protect', { type: 'String' }).valueAsString);
    validateStack('PR1', TestType.CANNOT_DECIDE);
  });
});

describe('PR2: production DynamoDB table without deletion protection or point-in-time recovery', () => {
  test('Noncompliance: TableV2 without point-in-time recovery', () => {
    new dynamodb.TableV2(stack, 'Orders', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    validateStack('PR2[PointInTimeRecovery]', TestType.NON_COMPLIANCE);
    validateStack('PR2[DeletionProtection]', TestType.COMPLIANCE);
  });
  test('Noncompliance: Table without either', () => {
    new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    validateStack('PR2[PointInTimeRecovery]', TestType.NON_COMPLIANCE);
    validateStack('PR2[DeletionProtection]', TestType.NON_COMPLIANCE);
  });
  test('Compliance: a TableV2 tagged dev on the table itself (its tags live on the replicas)', () => {
    const table = new dynamodb.TableV2(stack, 'Scratch', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    Tags.of(table).add('environment', 'dev');
    validateStack('PR2', TestType.COMPLIANCE);
  });
  test('fails when the tag key is compared case-sensitively: a table tagged Environment=Dev is disposable, as IAM reads it', () => {
    // GIVEN tables without any protection, tagged with the key spelled as IAM matches it, ignoring case
    const scratch = new dynamodb.Table(stack, 'Scratch', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    Tags.of(scratch).add('Environment', 'Dev');
    const global = new dynamodb.TableV2(stack, 'Global', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    Tags.of(global).add('ENVIRONMENT', 'dev');
    // WHEN the pack runs THEN neither is production (the deployed guard's aws:ResourceTag/environment matches both)
    validateStack('PR2', TestType.COMPLIANCE);
  });
  test('Noncompliance: keys that differ only in case, one of them production (fail closed)', () => {
    const table = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    Tags.of(table).add('Environment', 'dev');
    Tags.of(table).add('environment', 'production');
    validateStack('PR2[DeletionProtection]', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: Environment=Production under the tagged-only scope', () => {
    const table = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    Tags.of(table).add('Environment', 'Production');
    validateStack('PR2[DeletionProtection]', TestType.NON_COMPLIANCE, { production: ProductionScope.taggedOnly() });
  });
  test('Compliance: both on', () => {
    new dynamodb.Table(stack, 'Orders', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      deletionProtection: true,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    validateStack('PR2', TestType.COMPLIANCE);
  });
});

describe('PR3: production bucket without versioning', () => {
  test('Noncompliance: unversioned', () => {
    new s3.Bucket(stack, 'Invoices');
    validateStack('PR3', TestType.NON_COMPLIANCE);
  });
  test('Compliance: versioned', () => {
    new s3.Bucket(stack, 'Invoices', { versioned: true });
    validateStack('PR3', TestType.COMPLIANCE);
  });
});

describe('PR4: production KMS key with the shortest pending window', () => {
  test('Noncompliance: 7 days', () => {
    new kms.Key(stack, 'Key', { pendingWindow: Duration.days(7) });
    validateStack('PR4', TestType.NON_COMPLIANCE);
  });
  test('Compliance: the default (30 days)', () => {
    new kms.Key(stack, 'Key');
    validateStack('PR4', TestType.COMPLIANCE);
  });
});

describe('PR5: stack with stateful production resources without termination protection', () => {
  test('Noncompliance: a production bucket in an unprotected stack', () => {
    new s3.Bucket(stack, 'Invoices');
    validateStack('PR5', TestType.NON_COMPLIANCE);
  });
  test('Compliance: termination protection on', () => {
    stack.terminationProtection = true;
    new s3.Bucket(stack, 'Invoices');
    validateStack('PR5', TestType.COMPLIANCE);
  });
  test('Compliance: a stack with no stateful resource', () => {
    new sqs.Queue(stack, 'Jobs');
    validateStack('PR5', TestType.COMPLIANCE);
  });
});

describe('PR6: stateful production resource with removal policy DESTROY', () => {
  test('Noncompliance: a table with RemovalPolicy.DESTROY', () => {
    new dynamodb.TableV2(stack, 'Orders', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    validateStack('PR6[DeletionPolicy::Delete]', TestType.NON_COMPLIANCE);
    validateStack('PR6[UpdateReplacePolicy::Delete]', TestType.NON_COMPLIANCE);
  });
  test('Compliance: RETAIN', () => {
    new dynamodb.TableV2(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, removalPolicy: RemovalPolicy.RETAIN });
    validateStack('PR6', TestType.COMPLIANCE);
  });
  test('Compliance: a dev-tagged table with DESTROY', () => {
    Tags.of(stack).add('environment', 'dev');
    new dynamodb.TableV2(stack, 'Orders', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    validateStack('PR6', TestType.COMPLIANCE);
  });
});

describe('AP1: approval wait without a timeout', () => {
  const waitForHuman = (timeoutSeconds?: number) =>
    new sfn.StateMachine(stack, 'Manual', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new sfn.CustomState(stack, 'AskHuman', {
          stateJson: {
            Type: 'Task',
            Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
            Parameters: { 'QueueUrl': 'https://sqs.us-east-1.amazonaws.com/123456789012/approvals', 'MessageBody.$': '$$.Task.Token' },
            ...(timeoutSeconds ? { TimeoutSeconds: timeoutSeconds } : {}),
          },
        }),
      ),
    });
  test('Noncompliance: a hand-written approval wait without TimeoutSeconds', () => {
    waitForHuman();
    validateStack('AP1[State::AskHuman]', TestType.NON_COMPLIANCE);
  });
  test('Compliance: the same wait with TimeoutSeconds', () => {
    waitForHuman(3600);
    validateStack('AP1', TestType.COMPLIANCE);
  });
  test('Compliance: an ApprovalGate', () => {
    const approver = new iam.Role(stack, 'Approver', { assumedBy: new iam.AccountRootPrincipal() });
    gate([Approver.role(approver)]);
    validateStack('AP1', TestType.COMPLIANCE);
  });
});

function gate(approvers: Approver[]): ApprovalGate {
  return new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [`arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`] })],
    approvers,
    timeout: Duration.hours(4),
  });
}

describe('AP2: approval gate the requester can approve', () => {
  test('Noncompliance: an approver that may also start the workflow', () => {
    const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    const g = gate([Approver.role(lead)]);
    g.grantRequest(agentRole());
    g.stateMachine.grantStartExecution(lead);
    validateStack('AP2', TestType.NON_COMPLIANCE);
  });
  test('Noncompliance: an approver that is an agent (a plain role trusted by Bedrock)', () => {
    const bot = new iam.Role(stack, 'Bot', { assumedBy: bedrock() });
    gate([Approver.role(bot)]);
    validateStack('AP2', TestType.NON_COMPLIANCE);
  });
  test("Compliance: a person's role approves, the agent requests", () => {
    const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    gate([Approver.role(lead)]).grantRequest(agentRole());
    validateStack('AP2', TestType.COMPLIANCE);
  });
});
