import { App, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AgentRole } from '../../lib';
import { addApprovalGates } from './approval';
import { addAuditAndBreaker } from './guardrails';

/** Production: every resource keeps its own last line of defence too. */
export class ProductionStack extends Stack {
  public readonly table: dynamodb.TableV2;
  public readonly bucket: s3.Bucket;
  public readonly database: rds.DatabaseInstance;
  public readonly jobs: sqs.Queue;

  constructor(scope: Construct, id: string, props?: StackProps) {
    // The stack's own tag is explicit: with the `cdk init` flag @aws-cdk/core:explicitStackTags, Tags.of(stack) tags its resources only.
    super(scope, id, { ...props, terminationProtection: true, tags: { environment: 'production', ...props?.tags } });
    Tags.of(this).add('environment', 'production');
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const key = new kms.Key(this, 'DataKey', { enableKeyRotation: true, pendingWindow: Duration.days(30), removalPolicy: RemovalPolicy.RETAIN });
    this.database = new rds.DatabaseInstance(this, 'Orders', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      deletionProtection: true,
      storageEncryptionKey: key,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    this.table = new dynamodb.TableV2(this, 'Customers', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      deletionProtection: true,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Invoices', { versioned: true, encryptionKey: key, removalPolicy: RemovalPolicy.RETAIN, enforceSSL: true });
    this.jobs = new sqs.Queue(this, 'Jobs', { encryptionMasterKey: key });
    new route53.PublicHostedZone(this, 'Zone', { zoneName: 'shop.example.com' });
  }
}

/** Dev: disposable, and tagged so. */
export class DevStack extends Stack {
  public readonly table: dynamodb.TableV2;
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { ...props, tags: { environment: 'dev', ...props?.tags } });
    Tags.of(this).add('environment', 'dev');
    this.table = new dynamodb.TableV2(this, 'Scratch', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

export interface AgentStackProps extends StackProps {
  readonly production: ProductionStack;
  readonly dev: DevStack;
  /**
   * The failover runbook through the gate in credentials mode (examples/production-app/approval.ts).
   * @default true
   */
  readonly failover?: boolean;
}

/** The AI agent: least privilege, and it cannot destroy production whatever it is granted later. */
export class AgentStack extends Stack {
  public readonly agent: AgentRole;
  constructor(scope: Construct, id: string, props: AgentStackProps) {
    // the guardrails (audit trail, breaker state) must outlive any attempt to delete the stack
    super(scope, id, { ...props, terminationProtection: true });
    this.agent = new AgentRole(this, 'OpsAssistant', {
      agentName: 'ops-assistant',
      // the runner that starts agent sessions; it must set a source identity per session
      assumedBy: new iam.AccountPrincipal(this.account),
      sourceIdentityPattern: 'ops-assistant-*',
    });
    // read production, consume its jobs queue (which deletes messages: an explicit grant keeps working)
    this.agent.allow({ actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [props.production.table.tableArn] });
    this.agent.allow({ actions: ['rds:DescribeDBInstances'], resources: [props.production.database.instanceArn] });
    this.agent.allow({ actions: ['ec2:DescribeInstances', 'ec2:DescribeVpcs'], resources: ['*'] });
    props.production.jobs.grantConsumeMessages(this.agent);
    // full data access to the disposable dev table
    props.dev.table.grantReadWriteData(this.agent);
    // deleting the production database or updating the production stack: the agent asks, a human decides
    const gate = addApprovalGates(this, props.production, this.agent, { failover: props.failover ?? true });
    // every action recorded and attributed; a burst of destructive or denied calls quarantines the agent,
    // and the sessions it collected through the gate
    addAuditAndBreaker(this, this.agent, gate.credentialsRole ? [gate.credentialsRole] : []);
  }
}

export function buildApp(app: App = new App(), options: { failover?: boolean } = { failover: true }): App {
  const production = new ProductionStack(app, 'Production');
  const dev = new DevStack(app, 'Dev');
  new AgentStack(app, 'Agent', { production, dev, failover: options.failover });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
