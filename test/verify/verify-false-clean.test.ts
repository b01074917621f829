import { App, Aws, Fn, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as fs from 'fs';
import * as path from 'path';
import { buildApp } from '../../examples/production-app/main';
import { AgentRole } from '../../lib/guard/agent-role';
import { AgentVerdict, ResourceVerdict, VerifyReport } from '../../lib/verify/analysis/analysis';
import { assumeUnmodelledConditions } from '../../lib/verify/analysis/condition-keys';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { decide, decideOnSample } from '../support/simulate';
import { Template, TemplateResolver } from '../support/template-resolver';
import { cli, synthTo } from './verify-fixtures';

// Three ways verify used to report clean (exit 0) for an agent that can destroy production:
// conditions on keys verify does not put in its request context, resource-based policies, and
// production resources the app does not define. Each claim is checked against the independent
// simulator (@cloud-copilot/iam-simulate) on the synthesized policies.

const env = { account: '123456789012', region: 'us-east-1' };
const OUTSIDE = '(any production resource outside this app)';

function template(dir: string, stack: string): Template {
  return JSON.parse(fs.readFileSync(path.join(dir, `${stack}.template.json`), 'utf8'));
}

async function verify(build: (app: App) => void): Promise<{ code: number; report: VerifyReport; dir: string; stdout: string }> {
  const dir = synthTo(build, 'verify-false-clean-');
  const run = await cli('verify', dir, '--json');
  return { code: run.code, report: JSON.parse(run.stdout), dir, stdout: run.stdout };
}

function resourceOf(agent: AgentVerdict, id: string): ResourceVerdict {
  const found = agent.resources.find((r) => r.resource === id);
  if (!found) throw new Error(`no verdict for ${id}; verdicts for ${agent.resources.map((r) => r.resource).join(', ')}`);
  return found;
}

/** A plain role handed to an agent service, beside a production bucket, with one statement. */
function conditionedAgent(statement: iam.PolicyStatement) {
  return (app: App) => {
    const stack = new Stack(app, 'Cond', { env });
    new s3.Bucket(stack, 'Data');
    const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
    role.addToPolicy(statement);
  };
}

describe('conditions on keys verify does not model fail closed', () => {
  test.each([
    ['StringEquals aws:RequestedRegion', { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }, { 'aws:RequestedRegion': 'us-east-1' }],
    ['Bool aws:SecureTransport', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': 'true' }],
    ['StringLike aws:SourceIdentity', { StringLike: { 'aws:SourceIdentity': 'agent-*' } }, { 'aws:SourceIdentity': 'agent-42' }],
  ])('fails when an Allow conditioned on %s grants s3:DeleteBucket on a production bucket', async (_name, conditions, realContext) => {
    // GIVEN an agent allowed s3:DeleteBucket under a condition every one of its real requests can meet
    const { code, report, dir } = await verify(
      conditionedAgent(new iam.PolicyStatement({ actions: ['s3:DeleteBucket'], resources: ['*'], conditions })),
    );
    const cond = template(dir, 'Cond');
    const policies = effectivePolicies(cond, logicalIdOf(cond, 'AWS::IAM::Role', 'Agent'));
    const bucketArn = new TemplateResolver(cond).resolve({ 'Fn::GetAtt': [logicalIdOf(cond, 'AWS::S3::Bucket', 'Data'), 'Arn'] });
    // (the simulator: a request carrying the key deletes the bucket)
    await expect(decide(policies, { action: 's3:DeleteBucket', resource: bucketArn, context: realContext })).resolves.toBe('Allowed');
    // WHEN verify reads the app, THEN it reports the bucket destructible and fails
    expect(code).toBe(1);
    const agent = report.agents[0];
    expect(resourceOf(agent, 'Cond/Data').canDestroy).toContain('s3:DeleteBucket');
    // and says which assumption the finding rests on
    const key = Object.keys(Object.values(conditions)[0])[0];
    expect(agent.assumed).toEqual([key]);
    expect(agent.assumedFindings).toBeGreaterThan(0);
    expect(report.warnings.join('\n')).toContain(`assumed: ${key}`);
  });

  test('fails when the only Deny protecting the bucket is conditioned on an unmodelled key', async () => {
    // GIVEN s3:* allowed, and s3:DeleteBucket denied only outside eu-west-1
    const { code, report, dir } = await verify((app) => {
      conditionedAgent(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }))(app);
      const role = app.node.findChild('Cond').node.findChild('Agent') as iam.Role;
      role.addToPolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ['s3:DeleteBucket'],
          resources: ['*'],
          conditions: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
        }),
      );
    });
    const cond = template(dir, 'Cond');
    const policies = effectivePolicies(cond, logicalIdOf(cond, 'AWS::IAM::Role', 'Agent'));
    const bucketArn = new TemplateResolver(cond).resolve({ 'Fn::GetAtt': [logicalIdOf(cond, 'AWS::S3::Bucket', 'Data'), 'Arn'] });
    // (the simulator: a request to eu-west-1 is not denied)
    await expect(decide(policies, { action: 's3:DeleteBucket', resource: bucketArn, context: { 'aws:RequestedRegion': 'eu-west-1' } })).resolves.toBe(
      'Allowed',
    );
    // WHEN verify reads it, THEN the Deny is given no credit
    expect(code).toBe(1);
    expect(resourceOf(report.agents[0], 'Cond/Data').canDestroy).toContain('s3:DeleteBucket');
    expect(report.agents[0].assumed).toEqual(['aws:RequestedRegion']);
  });

  test("fails when an environment-agnostic app allows s3:DeleteBucket on its own account's resources (aws:ResourceAccount)", async () => {
    // GIVEN an app without an account, its agent allowed to delete buckets of "this account"
    const { code, report, dir } = await verify((app) => {
      const stack = new Stack(app, 'Agnostic');
      new s3.Bucket(stack, 'Data');
      const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:DeleteBucket'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:ResourceAccount': Aws.ACCOUNT_ID } },
        }),
      );
    });
    const agnostic = template(dir, 'Agnostic');
    const policies = effectivePolicies(agnostic, logicalIdOf(agnostic, 'AWS::IAM::Role', 'Agent'));
    const bucketArn = new TemplateResolver(agnostic).resolve({ 'Fn::GetAtt': [logicalIdOf(agnostic, 'AWS::S3::Bucket', 'Data'), 'Arn'] });
    // (the simulator: deployed, the bucket is in the role's account, and the Allow holds)
    await expect(
      decide(policies, { action: 's3:DeleteBucket', resource: bucketArn, context: { 'aws:ResourceAccount': '123456789012' } }),
    ).resolves.toBe('Allowed');
    // WHEN verify reads it (the account is unknown offline), THEN the Allow is assumed to hold
    expect(code).toBe(1);
    expect(resourceOf(report.agents[0], 'Agnostic/Data').canDestroy).toContain('s3:DeleteBucket');
    expect(report.agents[0].assumed).toEqual(['aws:ResourceAccount']);
  });

  test('keeps the conditions verify models: resource tags, resource account, principal tags and the relabelling tag', () => {
    // GIVEN a policy mixing modelled and unmodelled keys
    const rewritten = assumeUnmodelledConditions(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { StringNotEquals: { 'aws:ResourceTag/environment': 'dev' }, StringEqualsIfExists: { 'aws:ResourceAccount': ['1'] } },
          },
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { 'Null': { 'aws:PrincipalTag/guardrails:agent': 'false' }, 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment'] } },
          },
          { Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': '2026-01-01T00:00:00Z' } } },
          {
            Effect: 'Allow',
            Action: 's3:*',
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1', 'aws:ResourceTag/team': 'a' } },
          },
          {
            Effect: 'Allow',
            Action: 'ec2:CreateTags',
            Resource: '*',
            Condition: { StringEquals: { 'aws:RequestTag/environment': 'prod', 'aws:RequestTag/team': 'a' } },
          },
        ],
      },
      'environment',
    );
    // THEN the guard-style denies stay as they are, the unmodelled deny is assumed not to apply,
    // and the Allow keeps only its modelled condition
    const statements = (rewritten.document as any).Statement;
    expect(statements).toHaveLength(4);
    expect(statements[0].Condition).toEqual({
      StringNotEquals: { 'aws:ResourceTag/environment': 'dev' },
      StringEqualsIfExists: { 'aws:ResourceAccount': ['1'] },
    });
    expect(statements[1].Condition).toEqual({
      'Null': { 'aws:PrincipalTag/guardrails:agent': 'false' },
      'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment'] },
    });
    expect(statements[2]).toEqual({ Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': 'a' } } });
    // (the agent chooses the request's other tags: only the relabelling tag is modelled)
    expect(statements[3].Condition).toEqual({ StringEquals: { 'aws:RequestTag/environment': 'prod' } });
    expect(rewritten.assumed.sort()).toEqual(['aws:RequestTag/team', 'aws:RequestedRegion', 'aws:TokenIssueTime']);
  });
});

describe('resource-based policies count', () => {
  function bucketPolicyGrant(principal: (role: iam.Role, stack: Stack) => iam.IPrincipal, guarded = false) {
    return (app: App) => {
      const stack = new Stack(app, 'Rp', { env });
      const bucket = new s3.Bucket(stack, 'Data');
      const role = guarded
        ? new AgentRole(stack, 'Agent', { agentName: 'guarded', assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') })
        : new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({ principals: [principal(role, stack)], actions: ['s3:DeleteBucket'], resources: [bucket.bucketArn] }),
      );
    };
  }

  async function simulatorWithBucketPolicy(dir: string, guarded = false) {
    const rp = template(dir, 'Rp');
    const resolver = new TemplateResolver(rp);
    const roleId = logicalIdOf(rp, 'AWS::IAM::Role', 'Agent');
    const policies = effectivePolicies(rp, roleId);
    const bucketArn = resolver.resolve({ 'Fn::GetAtt': [logicalIdOf(rp, 'AWS::S3::Bucket', 'Data'), 'Arn'] });
    const bucketPolicy = resolver.resolve(rp.Resources[logicalIdOf(rp, 'AWS::S3::BucketPolicy', 'DataPolicy')].Properties.PolicyDocument);
    const principal = resolver.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] });
    return decide(policies, {
      action: 's3:DeleteBucket',
      resource: bucketArn,
      resourcePolicy: bucketPolicy,
      principal,
      tags: guarded ? {} : undefined,
    });
  }

  test('fails when a bucket policy grants the agent role s3:DeleteBucket', async () => {
    // GIVEN an agent role with no identity grant at all, named by the bucket's policy
    const { code, report, dir } = await verify(bucketPolicyGrant((role) => new iam.ArnPrincipal(role.roleArn)));
    // (the simulator: the bucket policy alone lets the role delete the bucket)
    await expect(simulatorWithBucketPolicy(dir)).resolves.toBe('Allowed');
    // WHEN verify reads the app, THEN the bucket is destructible and the run fails
    expect(code).toBe(1);
    const agent = report.agents[0];
    expect(resourceOf(agent, 'Rp/Data').canDestroy).toEqual(['s3:DeleteBucket']);
    expect(agent.resourceGrants).toEqual([
      expect.objectContaining({ source: expect.stringContaining('AWS::S3::BucketPolicy'), scope: 'role', certain: true }),
    ]);
  });

  test("fails when a queue policy grants sqs:DeleteQueue to any principal (the agent's sessions included)", async () => {
    // GIVEN a queue whose policy lets anyone delete it, and an agent role with no identity grant
    const { code, report, dir } = await verify((app) => {
      const stack = new Stack(app, 'Qp', { env });
      const queue = new sqs.Queue(stack, 'Jobs');
      new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      queue.addToResourcePolicy(
        new iam.PolicyStatement({ principals: [new iam.AnyPrincipal()], actions: ['sqs:DeleteQueue'], resources: [queue.queueArn] }),
      );
    });
    const qp = template(dir, 'Qp');
    const resolver = new TemplateResolver(qp);
    const roleId = logicalIdOf(qp, 'AWS::IAM::Role', 'Agent');
    // (the simulator: the queue policy alone lets the role delete the queue)
    await expect(
      decide(effectivePolicies(qp, roleId), {
        action: 'sqs:DeleteQueue',
        resource: resolver.resolve({ 'Fn::GetAtt': [logicalIdOf(qp, 'AWS::SQS::Queue', 'Jobs'), 'Arn'] }),
        resourcePolicy: resolver.resolve(qp.Resources[logicalIdOf(qp, 'AWS::SQS::QueuePolicy', 'JobsPolicy')].Properties.PolicyDocument),
        principal: resolver.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }),
      }),
    ).resolves.toBe('Allowed');
    // WHEN verify reads it, THEN the queue is destructible
    expect(code).toBe(1);
    expect(resourceOf(report.agents[0], 'Qp/Jobs').canDestroy).toEqual(['sqs:DeleteQueue']);
    expect(report.agents[0].resourceGrants).toEqual([
      expect.objectContaining({ source: expect.stringContaining('AWS::SQS::QueuePolicy'), scope: 'session', certain: true }),
    ]);
  });

  test("the guard's explicit denies still apply to what a bucket policy grants", async () => {
    // GIVEN the same grant to a guarded AgentRole
    const { report, dir } = await verify(bucketPolicyGrant((role) => new iam.ArnPrincipal(role.roleArn), true));
    // (the simulator: the guard denies it on the untagged, hence production, bucket)
    await expect(simulatorWithBucketPolicy(dir, true)).resolves.toBe('ExplicitlyDenied');
    // THEN verify credits the guard
    const agent = report.agents.find((a) => a.agent === 'guarded')!;
    const bucket = resourceOf(agent, 'Rp/Data');
    expect(bucket.canDestroy).toEqual([]);
    expect(bucket.status).toBe('denied');
  });

  test('fails closed (UNKNOWN, exit 1) when a bucket policy names a principal verify cannot resolve', async () => {
    // GIVEN a bucket policy granting s3:DeleteBucket to a role ARN imported from elsewhere
    const { code, report } = await verify(bucketPolicyGrant(() => new iam.ArnPrincipal(Fn.importValue('SomeoneElsesRoleArn'))));
    // THEN it may be the agent: UNKNOWN, and the run fails
    expect(code).toBe(1);
    const agent = report.agents[0];
    expect(resourceOf(agent, 'Rp/Data').unknown).toContain('s3:DeleteBucket');
    expect(report.summary.uncertainAgents).toEqual([agent.agent]);
  });

  test('a grant to the account root delegates to IAM and grants the agent nothing (no false finding)', async () => {
    // GIVEN the bucket policy names the account, as every default KMS key policy does
    const { report, dir } = await verify(bucketPolicyGrant((_role, stack) => new iam.AccountPrincipal(stack.account)));
    const rp = template(dir, 'Rp');
    const resolver = new TemplateResolver(rp);
    const roleId = logicalIdOf(rp, 'AWS::IAM::Role', 'Agent');
    // (the simulator: without an identity grant the role cannot delete the bucket)
    await expect(
      decide(effectivePolicies(rp, roleId), {
        action: 's3:DeleteBucket',
        resource: resolver.resolve({ 'Fn::GetAtt': [logicalIdOf(rp, 'AWS::S3::Bucket', 'Data'), 'Arn'] }),
        resourcePolicy: resolver.resolve(rp.Resources[logicalIdOf(rp, 'AWS::S3::BucketPolicy', 'DataPolicy')].Properties.PolicyDocument),
        principal: resolver.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }),
      }),
    ).resolves.toBe('ImplicitlyDenied');
    // THEN verify reports nothing on the bucket
    expect(resourceOf(report.agents[0], 'Rp/Data').canDestroy).toEqual([]);
    expect(report.agents[0].resourceGrants).toEqual([]);
  });
});

describe('production resources outside the app', () => {
  test('fails when an agent holds s3:*, dynamodb:* and rds:* on * in an app defining no such resource', async () => {
    // GIVEN an app with one agent and nothing else
    const { code, report, dir } = await verify((app) => {
      const stack = new Stack(app, 'AgentOnly', { env });
      const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*', 'dynamodb:*', 'rds:*'], resources: ['*'] }));
    });
    const agentOnly = template(dir, 'AgentOnly');
    const policies = effectivePolicies(agentOnly, logicalIdOf(agentOnly, 'AWS::IAM::Role', 'Agent'));
    // WHEN verify reads it, THEN it reports what the agent can destroy in the rest of the account
    expect(code).toBe(1);
    const outside = resourceOf(report.agents[0], OUTSIDE);
    expect(outside.status).toBe('allowed');
    for (const action of ['s3:DeleteBucket', 'dynamodb:DeleteTable', 'rds:DeleteDBInstance', 'rds:DeleteDBCluster']) {
      expect(outside.canDestroy).toContain(action);
      // (the simulator agrees on an untagged resource of the action's own type)
      await expect(decideOnSample(policies, { action })).resolves.toBe('Allowed');
    }
    expect(outside.canDeleteData).toEqual(expect.arrayContaining(['s3:DeleteObject', 'dynamodb:DeleteItem']));
    // and only the actions its Allows name were evaluated there
    expect(outside.checked).toBe(
      outside.canDestroy.length +
        outside.canDeleteData.length +
        outside.canRetag.length +
        outside.grantedData.length +
        outside.denied +
        outside.notGranted,
    );
    expect(outside.canDestroy.every((a) => /^(s3|dynamodb|rds):/.test(a))).toBe(true);
  });

  test('the guarded example app stays clean outside the app too (exit 0)', async () => {
    // GIVEN the example app, whose agent is an AgentRole
    const { code, report } = await verify((app) => buildApp(app));
    // THEN the pseudo-resource is evaluated and guarded
    expect(code).toBe(0);
    const agent = report.agents.find((a) => a.agent === 'ops-assistant')!;
    const outside = resourceOf(agent, OUTSIDE);
    expect(outside.checked).toBeGreaterThan(0);
    expect(outside.denied).toBe(outside.checked);
    expect(agent.assumed).toEqual([]);
  });
});

describe('policies the IAM User Guide reads against the guard (issue 17)', () => {
  // Each app: a Bedrock-trusted role beside a DynamoDB table tagged production, with one policy that
  // verify used to read as safe. The page each case follows is cited in lib/evaluator and in
  // test/evaluator/doc-conformance.test.ts.
  function tableAgent(...statements: iam.PolicyStatement[]) {
    return (app: App) => {
      const stack = new Stack(app, 'Doc', { env });
      const table = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
      Tags.of(table).add('environment', 'production');
      const role = new iam.Role(stack, 'Agent', { roleName: 'doc-agent', assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      statements.forEach((s) => role.addToPolicy(s));
      // CloudFormation's own schema check rejects a variable in the account field; an agent's policy can still reach a
      // deployment some other way (console, SDK), so the test keeps the policy and acknowledges the check.
      Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::E3510', reason: 'issue 17: a Deny verify must not credit' });
    };
  }

  async function expectDangerous(build: (app: App) => void) {
    const { code, report, stdout } = await verify(build);
    expect(code).toBe(1);
    expect(report.summary.clean).toBe(false);
    const agent = report.agents.find((a) => a.roleArn.includes('doc-agent'));
    expect(agent).toBeDefined();
    expect(report.summary.agentsThatCanDestroyProduction).toContain(agent!.agent);
    expect(resourceOf(agent!, 'Doc/Orders').canDestroy).toContain('dynamodb:DeleteTable');
    return { report, agent: agent!, stdout };
  }

  test('fails when StringNotEquals compares with a principal tag the role does not carry', async () => {
    // GIVEN an Allow of dynamodb:DeleteTable unless the table's owner equals ${aws:PrincipalTag/protected-owner}, and no such tag
    // WHEN verify reads the app ("Policy variables with no value": inverted operators match)
    // THEN the table is reported destructible and verify fails
    await expectDangerous(
      tableAgent(
        new iam.PolicyStatement({
          actions: ['dynamodb:DeleteTable'],
          resources: ['*'],
          conditions: { StringNotEquals: { 'aws:ResourceTag/owner': '${aws:PrincipalTag/protected-owner}' } },
        }),
      ),
    );
  });

  test('fails when a NotResource entry uses a principal tag the role does not carry', async () => {
    // GIVEN an Allow on every table except table/${aws:PrincipalTag/team}-*, and no team tag
    // WHEN verify reads the app (the entry matches no resource, so it excludes nothing)
    // THEN the production table is reported destructible
    await expectDangerous(
      tableAgent(
        new iam.PolicyStatement({
          actions: ['dynamodb:DeleteTable'],
          notResources: [`arn:aws:dynamodb:${env.region}:${env.account}:table/\${aws:PrincipalTag/team}-*`],
        }),
      ),
    );
  });

  test('fails when the only Deny puts a policy variable in the account field of its ARN', async () => {
    // GIVEN dynamodb:* allowed and DeleteTable denied on arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*
    // WHEN verify reads the app ("Where you can use policy variables": not before the fifth colon)
    // THEN the Deny protects nothing and the table is reported destructible
    await expectDangerous(
      tableAgent(
        new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ['dynamodb:DeleteTable'],
          resources: ['arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*'],
        }),
      ),
    );
  });

  test('fails when an Allow rests on a construct no page defines, and names it', async () => {
    // GIVEN DeleteTable allowed only on an ARN with upper case in its region (no page says whether that matches)
    // WHEN verify reads the app
    const { report, agent } = await expectDangerous(
      tableAgent(new iam.PolicyStatement({ actions: ['dynamodb:DeleteTable'], resources: [`arn:aws:dynamodb:US-EAST-1:${env.account}:table/*`] })),
    );
    // THEN the finding is reported as resting on the doubtful construct, by name
    expect(agent.assumed.join('\n')).toContain('upper case in the partition or region');
    expect(agent.assumedFindings).toBeGreaterThan(0);
    expect(report.warnings.join('\n')).toContain('US-EAST-1');
  });

  test('fails when a Deny is credited only because a session tag is absent offline', async () => {
    // GIVEN dynamodb:* allowed, and DeleteTable denied on every table except table/${aws:PrincipalTag/team}-*
    // WHEN verify reads the app (the agent may tag its session: evaluated with and without a value, the worse reported)
    const { agent } = await expectDangerous(
      tableAgent(
        new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }),
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ['dynamodb:DeleteTable'],
          notResources: [`arn:aws:dynamodb:${env.region}:${env.account}:table/\${aws:PrincipalTag/team}-*`],
        }),
      ),
    );
    // THEN the finding names the variable it rests on
    expect(agent.assumed.join('\n')).toContain('${aws:PrincipalTag/team} has no value verify can know offline');
  });
});
