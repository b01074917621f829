import { App, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliIo, main } from '../../lib/cli/main';
import { cdkInitContext } from './cdk-init-context';

const created: string[] = [];
// Temporary assemblies go when the test file is done.
afterAll(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes an app, with the feature flags of a fresh `cdk init` app, into a fresh temporary cdk.out; returns its directory. */
export function synthTo(build: (app: App) => void, prefix = 'verify-'): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(outdir);
  const app = new App({ outdir, context: { ...cdkInitContext(), 'aws:cdk:enable-path-metadata': true } });
  build(app);
  app.synth();
  return outdir;
}

export interface CliRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with a capturing io. */
export async function cli(...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out, err, stdout: out.join('\n'), stderr: err.join('\n') };
}

export interface IncidentStackProps {
  readonly account?: string;
}

/**
 * The incident, modelled: a plain iam.Role trusted by Bedrock, given PowerUserAccess, beside a
 * production RDS database and DynamoDB table. Nothing in it is an AgentRole.
 */
export class IncidentStack extends Stack {
  public readonly agentRole: iam.Role;
  public readonly database: rds.DatabaseInstance;
  public readonly table: dynamodb.Table;

  constructor(app: App, id: string, props: IncidentStackProps = {}) {
    super(app, id, props.account ? { env: { account: props.account, region: 'us-east-1' } } : {});
    Tags.of(this).add('environment', 'production');
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    this.database = new rds.DatabaseInstance(this, 'CustomersDb', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      instanceIdentifier: 'customers-db',
      storageEncrypted: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.table = new dynamodb.Table(this, 'Orders', { tableName: 'orders', partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    this.agentRole = new iam.Role(this, 'OpsAgentRole', {
      roleName: 'ops-agent-role',
      assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
    });
  }
}
