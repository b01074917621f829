/**
 * The incident, as a CDK app: a Bedrock agent's role written as a plain iam.Role with
 * PowerUserAccess, next to the production database it later deleted. Nothing in it is an
 * AgentRole; the AgentGuardrailsChecks pack finds the agent anyway, and GuardAgents guards it
 * without touching anything else.
 *
 *   npx ts-node examples/incident-app/main.ts            # synth: the pack fails it
 *   GUARD_AGENTS=1 npx ts-node examples/incident-app/main.ts   # with GuardAgents applied
 */
import { App, Aspects, RemovalPolicy, Stack, StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { GuardAgents } from '../../lib/guard/guard-agents';

/** Production, as it was on the day: the agent's role and the database in one stack. */
export class IncidentStack extends Stack {
  public readonly database: rds.DatabaseInstance;
  public readonly agentRole: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    Tags.of(this).add('environment', 'production');
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    this.database = new rds.DatabaseInstance(this, 'Customers', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // "The agent needs to manage the environment": a plain role, trusted by Bedrock, PowerUserAccess.
    this.agentRole = new iam.Role(this, 'OpsAgentRole', {
      assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
      description: 'Role of the Bedrock operations agent',
    });
  }
}

export interface IncidentAppOptions {
  /** Apply GuardAgents to the app. */
  readonly guardAgents?: boolean;
  /** Register AgentGuardrailsChecks, so that synth fails on its errors. */
  readonly checks?: boolean;
}

/** Builds the incident app into `app` (a new App by default). */
export function buildIncidentApp(app: App = new App(), options: IncidentAppOptions = {}): App {
  new IncidentStack(app, 'Incident');
  if (options.guardAgents) {
    Aspects.of(app).add(new GuardAgents());
  }
  if (options.checks) {
    Validations.of(app).addPlugins(new AgentGuardrailsChecks(app));
  }
  return app;
}

if (require.main === module) {
  buildIncidentApp(new App(), { guardAgents: process.env.GUARD_AGENTS === '1', checks: true }).synth();
}
