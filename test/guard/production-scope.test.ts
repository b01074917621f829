import { App, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ProductionGuard, ProductionScope } from '../../lib';
import { effectivePolicies, exportsOf } from '../support/effective-policies';
import { synthAgent, withAdministratorAccess } from '../support/fixtures';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, physicalName } from '../support/template-resolver';

const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/orders`;

describe('ProductionScope.taggedOnly (weaker, reported as such)', () => {
  test('denies on resources tagged with a production value, and lets untagged ones go (the documented weakness)', async () => {
    // (at the default quota of 10 managed policies per role)
    const { policies, stack, agent } = synthAgent(withAdministratorAccess, { production: ProductionScope.taggedOnly() });
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, tags: { environment: 'Production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, tags: {} })).resolves.toBe('Allowed');
    expect(agent.coverage.weakScope).toBe(true);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('tagged-only scope, which is weaker than the default'));
  });

  test('denies untaggable actions on the production resources found in the app, across stacks', async () => {
    // GIVEN a production bucket in another stack (S3 without ABAC never puts the tag in the context)
    const app = new App();
    const prod = new Stack(app, 'Prod', { env: { account: ACCOUNT, region: REGION } });
    Tags.of(prod).add('environment', 'production');
    const bucket = new s3.Bucket(prod, 'Invoices');
    const table = new dynamodb.Table(prod, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const agentStack = new Stack(app, 'Agents', { env: { account: ACCOUNT, region: REGION } });
    const role = new iam.Role(agentStack, 'Agent', { assumedBy: new iam.AccountRootPrincipal() });
    role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    const guard = new ProductionGuard(agentStack, 'Guard', { scope: ProductionScope.taggedOnly() });
    guard.attachTo(role);
    // WHEN synthesized
    const assembly = app.synth();
    const templates = assembly.stacks.map((s) => s.template as Template);
    const policies = effectivePolicies(
      assembly.getStackByName('Agents').template,
      agentStack.getLogicalId(role.node.defaultChild as iam.CfnRole),
      exportsOf(templates),
    );
    const bucketArn = `arn:aws:s3:::${physicalName(prod.getLogicalId(bucket.node.defaultChild as s3.CfnBucket))}`;
    // THEN the found production bucket is protected even though its tag is not in the context
    await expect(decide(policies, { action: 's3:DeleteBucket', resource: bucketArn, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(
      decide(policies, { action: 's3:PutLifecycleConfiguration', resource: bucketArn, tags: { environment: 'production' } }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(policies, { action: 's3:DeleteObjectVersion', resource: `${bucketArn}/a.pdf`, tags: { environment: 'production' } }),
    ).resolves.toBe('ExplicitlyDenied');
    // AND a bucket the app does not know stays uncovered, which is why this scope is weaker
    await expect(
      decide(policies, { action: 's3:DeleteBucket', resource: 'arn:aws:s3:::unknown-prod', tags: { environment: 'production' } }),
    ).resolves.toBe('Allowed');
    expect(
      guard
        .productionResources()
        .map((r) => r.type)
        .sort(),
    ).toEqual(['AWS::DynamoDB::Table', 'AWS::S3::Bucket']);
    void table;
  });

  test('reports production resources it cannot name', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    Tags.of(stack).add('environment', 'prod');
    new iam.User(stack, 'Human');
    const guard = new ProductionGuard(stack, 'Guard', { scope: ProductionScope.taggedOnly() });
    app.synth();
    expect(guard.productionResources()).toEqual([{ path: 'S/Human/Resource', type: 'AWS::IAM::User', arn: undefined }]);
    Annotations.fromStack(stack).hasWarning(
      '/S/Guard',
      Match.stringLikeRegexp('cannot name the ARN of 1 production resource.*S/Human/Resource \\(AWS::IAM::User\\)'),
    );
  });
});

test('a tagged-only AgentRole fits the default quota of 10 managed policies with a slot to spare, and still denies on production', async () => {
  // GIVEN a tagged-only agent with one managed policy of the user's (AdministratorAccess), at the default quota, beside a production bucket
  let bucket: s3.Bucket | undefined;
  const { policies, stack, agent, template } = synthAgent(
    (s, a) => {
      withAdministratorAccess(s, a);
      bucket = new s3.Bucket(s, 'Invoices');
      Tags.of(bucket).add('environment', 'production');
    },
    { production: ProductionScope.taggedOnly() },
  );
  // THEN it synthesizes, the guard taking at most 9 of the 10
  const role = template.Resources[stack.getLogicalId(agent.node.defaultChild as iam.CfnRole)].Properties;
  expect(role.ManagedPolicyArns.length).toBeLessThanOrEqual(10);
  expect(agent.guard.managedPolicies.length + agent.escalationPolicies.length).toBeLessThanOrEqual(9);
  // AND the protection holds under simulation: destruction and data deletes on tagged production
  await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, tags: { environment: 'production' } })).resolves.toBe(
    'ExplicitlyDenied',
  );
  await expect(decide(policies, { action: 'dynamodb:DeleteItem', resource: TABLE, tags: { environment: 'production' } })).resolves.toBe(
    'ExplicitlyDenied',
  );
  // AND actions whose request context carries no tag are denied on the production bucket found in the app (data-level included)
  const bucketArn = `arn:aws:s3:::${physicalName(stack.getLogicalId(bucket!.node.defaultChild as s3.CfnBucket))}`;
  const decisions = await Promise.all(
    [
      ['s3:DeleteBucket', bucketArn],
      ['s3:PutLifecycleConfiguration', bucketArn],
      ['s3:PutBucketPolicy', bucketArn],
      ['s3:DeleteObjectVersion', `${bucketArn}/a.pdf`],
      ['s3:DeleteObject', `${bucketArn}/a.pdf`],
    ].map(([action, resource]) => decide(policies, { action, resource, tags: { environment: 'production' } }).then((d) => `${action} ${d}`)),
  );
  expect(decisions.filter((d) => !d.endsWith('ExplicitlyDenied'))).toEqual([]);
});

test('fails at synth, naming the quota, when the guard and the user policies exceed the managed policies per role', () => {
  expect(() =>
    synthAgent(
      (s, a) => {
        withAdministratorAccess(s, a);
        a.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess'));
      },
      { production: ProductionScope.taggedOnly() },
    ),
  ).toThrow(/AgentRole ops-assistant has \d+ managed policies attached \(the guard needs \d+\), over the quota of 10 per role.*Nothing was dropped/);
});

describe('ProductionScope.resources and .accounts', () => {
  test('resources: denies on exactly the listed ARNs and what is under them', async () => {
    const { policies } = synthAgent(withAdministratorAccess, { production: ProductionScope.resources([TABLE, 'arn:aws:s3:::invoices']) });
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, tags: { environment: 'dev' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(policies, { action: 's3:DeleteObject', resource: 'arn:aws:s3:::invoices/2026/a.pdf' })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/scratch` })).resolves.toBe(
      'Allowed',
    );
  });

  test('accounts: denies in the listed accounts, and wherever the resource account is unknown', async () => {
    const { policies } = synthAgent(withAdministratorAccess, { production: ProductionScope.accounts([ACCOUNT]) });
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, context: { 'aws:ResourceAccount': ACCOUNT } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, context: {} })).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(policies, { action: 'dynamodb:DeleteTable', resource: TABLE, context: { 'aws:ResourceAccount': '210987654321' } }),
    ).resolves.toBe('Allowed');
  });
});

describe('ProductionGuard on its own', () => {
  test('attaches to users and groups, and renders as one plain policy document', async () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const guard = new ProductionGuard(stack, 'Guard');
    const user = new iam.User(stack, 'Operator', { managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')] });
    const group = new iam.Group(stack, 'Operators');
    guard.attachTo(user);
    guard.attachTo(group);
    const template = app.synth().getStackByName('S').template;
    const userProps = template.Resources[stack.getLogicalId(user.node.defaultChild as iam.CfnUser)].Properties;
    const groupProps = template.Resources[stack.getLogicalId(group.node.defaultChild as iam.CfnGroup)].Properties;
    expect(userProps.ManagedPolicyArns).toHaveLength(guard.managedPolicies.length + 1);
    expect(groupProps.ManagedPolicyArns).toHaveLength(guard.managedPolicies.length);
    // The rendered document (for an SCP or a review) denies the same things
    const document = stack.resolve(guard.toPolicyDocument().toJSON());
    const asPolicies = {
      identityPolicies: [
        { name: 'admin', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
        { name: 'guard', policy: document },
      ],
      trustPolicy: {},
    };
    await expect(
      decide(asPolicies, { action: 'rds:DeleteDBCluster', resource: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders`, tags: {} }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(asPolicies, {
        action: 'rds:DeleteDBCluster',
        resource: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders`,
        tags: { environment: 'test' },
      }),
    ).resolves.toBe('Allowed');
  });
});
