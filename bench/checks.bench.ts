/**
 * AgentGuardrailsChecks on a generated app with 100 agents (50 AgentRoles, 50 plain roles trusted
 * by Bedrock) and their production resources, against cdk-nag's AwsSolutionsChecks on the same
 * synthesized app, in the same run.
 */
import { App, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentGuardrailsChecks } from '../lib/checks/agent-guardrails-checks';
import { AgentRole } from '../lib/guard/agent-role';

const AGENTS = 100;
const AGENTS_PER_STACK = 10;

/**
 * The generated app: 10 stacks, each with 10 agents, a table and a bucket. Half the agents are AgentRoles, half plain
 * Bedrock roles with s3:* (every one a finding); with `allGuarded`, every agent is an AgentRole (no agent finding).
 */
export function buildHundredAgentApp(app: App = new App(), allGuarded = false): App {
  for (let s = 0; s < AGENTS / AGENTS_PER_STACK; s++) {
    const stack = new Stack(app, `Agents${s}`, { env: { account: '123456789012', region: 'us-east-1' }, terminationProtection: true });
    Tags.of(stack).add('environment', 'production');
    const table = new dynamodb.TableV2(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      deletionProtection: true,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const bucket = new s3.Bucket(stack, 'Bucket', { versioned: true, removalPolicy: RemovalPolicy.RETAIN });
    for (let a = 0; a < AGENTS_PER_STACK; a++) {
      const n = s * AGENTS_PER_STACK + a;
      if (allGuarded || n % 2 === 0) {
        const agent = new AgentRole(stack, `Agent${n}`, { agentName: `agent-${n}`, assumedBy: new iam.AccountRootPrincipal() });
        agent.allow({ actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [table.tableArn] });
        bucket.grantRead(agent);
      } else {
        const role = new iam.Role(stack, `Agent${n}`, { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
        table.grantReadWriteData(role);
        role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
      }
    }
  }
  return app;
}

/** Median milliseconds of each function, measured alternately (so that load on a shared machine falls on both alike). */
function alternatingMedians(fns: ReadonlyArray<() => unknown>, runs = 5): number[] {
  const times = fns.map(() => [] as number[]);
  for (let run = 0; run < runs; run++) {
    fns.forEach((fn, i) => {
      const start = process.hrtime.bigint();
      fn();
      times[i].push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  return times.map((t) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}

export async function bench(): Promise<void> {
  const app = buildHundredAgentApp();
  app.synth();
  const resources = app.node.findAll().length;
  const ours = new AgentGuardrailsChecks(app);
  const solutions = new AwsSolutionsChecks(app);
  // Both packs warmed (module loading, JIT, the IAM data each reads) before anything is timed.
  const findings = ours.validateScope(app).violations.length;
  solutions.validateScope(app);
  ours.validateScope(app);
  solutions.validateScope(app);
  const [baseline, pack] = alternatingMedians([() => solutions.validateScope(app), () => ours.validateScope(app)]);
  console.log(`100-agent app (${resources} constructs, ${findings} AgentGuardrails rule ids reported)`);
  console.log(`AwsSolutionsChecks: ${baseline.toFixed(1)} ms; AgentGuardrailsChecks: ${pack.toFixed(1)} ms (median of 5 warm runs each, alternated)`);
  console.log(`AgentGuardrailsChecks / AwsSolutionsChecks run time: ${(pack / baseline).toFixed(2)}x (target at most 0.50x, same app, same run)`);
  // The same app with every agent guarded: what the pack costs when its findings do not dominate.
  const guarded = buildHundredAgentApp(new App(), true);
  guarded.synth();
  const oursGuarded = new AgentGuardrailsChecks(guarded);
  const solutionsGuarded = new AwsSolutionsChecks(guarded);
  const guardedFindings = oursGuarded.validateScope(guarded).violations.length;
  solutionsGuarded.validateScope(guarded);
  const [baselineGuarded, packGuarded] = alternatingMedians([
    () => solutionsGuarded.validateScope(guarded),
    () => oursGuarded.validateScope(guarded),
  ]);
  console.log(
    `every agent an AgentRole (${guardedFindings} AgentGuardrails rule ids reported): AwsSolutionsChecks ${baselineGuarded.toFixed(1)} ms, ` +
      `AgentGuardrailsChecks ${packGuarded.toFixed(1)} ms, ${(packGuarded / baselineGuarded).toFixed(2)}x`,
  );
}

if (require.main === module) {
  bench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
