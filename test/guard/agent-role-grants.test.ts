import { CfnParameter, Fn, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentRole } from '../../lib';
import { SynthesizedAgent, synthAgent } from '../support/fixtures';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, physicalName } from '../support/template-resolver';

const tableArn = (stack: Stack, t: dynamodb.Table) =>
  `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physicalName(stack.getLogicalId(t.node.defaultChild as dynamodb.CfnTable))}`;
const queueArn = (stack: Stack, q: sqs.Queue) =>
  `arn:aws:sqs:${REGION}:${ACCOUNT}:${physicalName(stack.getLogicalId(q.node.defaultChild as sqs.CfnQueue))}`;
const bucketArn = (stack: Stack, b: s3.Bucket) => `arn:aws:s3:::${physicalName(stack.getLogicalId(b.node.defaultChild as s3.CfnBucket))}`;
const PROD = { environment: 'production' };

describe('explicit resource-scoped grants on production', () => {
  let synth: SynthesizedAgent;
  let granted: string;
  let other: string;
  let queue: string;
  let bucket: string;
  beforeAll(() => {
    // GIVEN production resources, explicit grants on some of them, and AdministratorAccess on top
    synth = synthAgent((stack, agent) => {
      Tags.of(stack).add('environment', 'production');
      const orders = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const ledger = new dynamodb.Table(stack, 'Ledger', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const jobs = new sqs.Queue(stack, 'Jobs');
      const uploads = new s3.Bucket(stack, 'Uploads');
      orders.grantReadWriteData(agent);
      jobs.grantConsumeMessages(agent);
      uploads.grantDelete(agent);
      agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
      granted = tableArn(stack, orders);
      other = tableArn(stack, ledger);
      queue = queueArn(stack, jobs);
      bucket = bucketArn(stack, uploads);
    });
  });

  test('table.grantReadWriteData keeps item deletes working on exactly that table', async () => {
    await expect(decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: granted, tags: PROD })).resolves.toBe('Allowed');
    await expect(decide(synth.policies, { action: 'dynamodb:BatchWriteItem', resource: granted, tags: PROD })).resolves.toBe('Allowed');
    // WHEN the same delete targets another production table THEN the guard still denies it
    await expect(decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: other, tags: PROD })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: other, tags: {} })).resolves.toBe('ExplicitlyDenied');
  });

  test('fails when the agent deletes the granted table itself, its backups or turns off its protection', async () => {
    for (const action of ['dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateContinuousBackups', 'dynamodb:DeleteBackup']) {
      const resource = action === 'dynamodb:DeleteBackup' ? `${granted}/backup/01234567890123-abcdefgh` : granted;
      await expect(decide(synth.policies, { action, resource, tags: PROD })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('queue.grantConsumeMessages keeps DeleteMessage working, never PurgeQueue or DeleteQueue', async () => {
    await expect(decide(synth.policies, { action: 'sqs:DeleteMessage', resource: queue, tags: PROD })).resolves.toBe('Allowed');
    await expect(decide(synth.policies, { action: 'sqs:PurgeQueue', resource: queue, tags: PROD })).resolves.toBe('ExplicitlyDenied');
    await expect(decide(synth.policies, { action: 'sqs:DeleteQueue', resource: queue, tags: PROD })).resolves.toBe('ExplicitlyDenied');
  });

  test('bucket.grantDelete keeps object deletes working, never object versions or the bucket', async () => {
    await expect(decide(synth.policies, { action: 's3:DeleteObject', resource: `${bucket}/report.csv`, tags: PROD })).resolves.toBe('Allowed');
    await expect(decide(synth.policies, { action: 's3:DeleteObjectVersion', resource: `${bucket}/report.csv`, tags: PROD })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(synth.policies, { action: 's3:DeleteBucket', resource: bucket, tags: PROD })).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(synth.policies, { action: 's3:DeleteObject', resource: 'arn:aws:s3:::another-prod-bucket/report.csv', tags: PROD }),
    ).resolves.toBe('ExplicitlyDenied');
  });
});

describe('grants that must not carve anything out', () => {
  test('fails when a broad grant (Resource "*" or a wildcard ARN) would lift the data-level deny', async () => {
    // GIVEN grants of data deletes on * and on every table, with a justification, plus AdministratorAccess
    const synth = synthAgent((_stack, agent) => {
      agent.allowBroad({ actions: ['dynamodb:DeleteItem'], resources: ['*'], justification: 'cleanup job across every table of the account' });
      agent.allowBroad({
        actions: ['sqs:DeleteMessage'],
        resources: ['arn:aws:sqs:us-east-1:123456789012:*'],
        justification: 'drains every queue of the account region',
      });
      agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    });
    // THEN production items and messages stay protected
    await expect(
      decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', tags: PROD }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(synth.policies, { action: 'sqs:DeleteMessage', resource: 'arn:aws:sqs:us-east-1:123456789012:jobs', tags: {} }),
    ).resolves.toBe('ExplicitlyDenied');
    expect(synth.agent.guard.dataCarveOuts).toEqual({});
  });

  test('fails when a grant on a deploy-time parameter (which could be "*") would lift the data-level deny', async () => {
    // GIVEN a grant whose resource is a CloudFormation parameter or an import, not a resource of the app
    const synth = synthAgent((stack, agent) => {
      const tableArn = new CfnParameter(stack, 'TableArn').valueAsString;
      agent.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteItem'], resources: [tableArn] }));
      agent.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sqs:DeleteMessage'], resources: [Fn.join('', [new CfnParameter(stack, 'QueueArn').valueAsString])] }),
      );
    });
    // THEN nothing is carved out, and item deletes stay denied on a production table even if the parameter is "*"
    expect(synth.agent.guard.dataCarveOuts).toEqual({});
    await expect(
      decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders', tags: PROD }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('fails when an explicit grant names a resource-level action: only its data-level delete is exempted', async () => {
    // GIVEN one explicit grant of DeleteTable and DeleteItem on a production table
    let arn = '';
    const synth = synthAgent((stack, agent) => {
      Tags.of(stack).add('environment', 'production');
      const t = new dynamodb.Table(stack, 'T', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      agent.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteTable', 'dynamodb:DeleteItem'], resources: [t.tableArn] }));
      arn = tableArn(stack, t);
    });
    // THEN the item delete works and the table delete stays denied
    await expect(decide(synth.policies, { action: 'dynamodb:DeleteItem', resource: arn, tags: PROD })).resolves.toBe('Allowed');
    await expect(decide(synth.policies, { action: 'dynamodb:DeleteTable', resource: arn, tags: PROD })).resolves.toBe('ExplicitlyDenied');
  });
});

describe('AgentRole is an iam.Role', () => {
  test('every CDK grant method works on it', async () => {
    let arn = '';
    const synth = synthAgent((stack, agent: AgentRole) => {
      Tags.of(stack).add('environment', 'dev');
      const t = new dynamodb.Table(stack, 'Scratch', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      t.grantReadData(agent);
      arn = tableArn(stack, t);
    });
    await expect(decide(synth.policies, { action: 'dynamodb:GetItem', resource: arn, tags: { environment: 'dev' } })).resolves.toBe('Allowed');
    await expect(decide(synth.policies, { action: 'dynamodb:PutItem', resource: arn, tags: { environment: 'dev' } })).resolves.toBe(
      'ImplicitlyDenied',
    );
  });
});
