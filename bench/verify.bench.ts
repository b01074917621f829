/**
 * Wall time of `verify` on a generated app with 100 agent roles, as a ratio against a baseline
 * measured in the same run: reading and parsing the same cloud assembly (every template, agents
 * and resources found, nothing evaluated).
 */
import { App, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentRole } from '../lib/guard/agent-role';
import { main } from '../lib/cli/main';
import { findAgents } from '../lib/verify/model/agents';
import { readAssembly } from '../lib/verify/model/assembly';
import { findResources } from '../lib/verify/model/production-resources';
import { evaluate } from '../lib/evaluator';
import { generateCase, PRINCIPAL } from '../test/evaluator/generated-cases';
import { medianMs } from './timing';

const AGENTS = 100;
const AGENTS_PER_STACK = 25;

function synthHundredAgentApp(): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-bench-'));
  const app = new App({ outdir });
  const production = new Stack(app, 'Production');
  Tags.of(production).add('environment', 'production');
  const table = new dynamodb.Table(production, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const bucket = new s3.Bucket(production, 'Invoices');
  const queue = new sqs.Queue(production, 'Jobs');
  new kms.Key(production, 'Key');
  new logs.LogGroup(production, 'Logs');
  new sns.Topic(production, 'Alerts');
  for (let s = 0; s < AGENTS / AGENTS_PER_STACK; s++) {
    const stack = new Stack(app, `Agents${s}`);
    for (let i = 0; i < AGENTS_PER_STACK; i++) {
      const n = s * AGENTS_PER_STACK + i;
      const agent = new AgentRole(stack, `Agent${n}`, { agentName: `agent-${n}`, assumedBy: new iam.AccountRootPrincipal() });
      agent.allow({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: [table.tableArn] });
      if (n % 3 === 0) bucket.grantRead(agent);
      if (n % 5 === 0) queue.grantConsumeMessages(agent);
    }
  }
  // one plain role an agent service may assume: the kind verify must catch
  const legacy = new Stack(app, 'Legacy');
  new iam.Role(legacy, 'BedrockAgent', {
    assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
  });
  app.synth();
  return outdir;
}

export async function bench(): Promise<void> {
  const dir = synthHundredAgentApp();
  const silent = { out: () => undefined, err: () => undefined };
  let agents = 0;
  let resources = 0;
  const baseline = await medianMs(() => {
    const assembly = readAssembly(dir);
    agents = findAgents(assembly).length;
    resources = findResources(assembly).production.length;
  }, 5);
  let evaluations = 0;
  let code = -1;
  const verify = await medianMs(async () => {
    const out: string[] = [];
    code = await main(['verify', dir, '--json'], { out: (l) => out.push(l), err: silent.err });
    evaluations = JSON.parse(out.join('\n')).summary.evaluations;
  }, 3);
  console.log(`verify, ${agents} agents x ${resources} production resources (${evaluations} evaluations, exit ${code}):`);
  console.log(
    `  wall time ${verify.toFixed(0)} ms = ${(verify / baseline).toFixed(1)} x the time to read and parse the same assembly ` +
      `(${baseline.toFixed(0)} ms)`,
  );
  // The evaluator's raw speed on parsed policies (the evaluator bench's generated cases, policies already parsed), same run.
  const cases = Array.from({ length: 2000 }, (_, i) => generateCase(2_000_000 + i));
  for (const c of cases) evaluate({ principal: PRINCIPAL, ...c });
  const rawMs = await medianMs(() => {
    for (const c of cases) evaluate({ principal: PRINCIPAL, ...c });
  }, 3);
  const verifyRate = (evaluations / verify) * 1000;
  const rawRate = (cases.length / rawMs) * 1000;
  console.log(
    `  ${Math.round(verifyRate).toLocaleString('en-US')} evaluations/s; the evaluator alone on parsed policies: ` +
      `${Math.round(rawRate).toLocaleString('en-US')} evaluations/s; verify = ${(rawRate / verifyRate).toFixed(2)}x slower (target: at most 2x)`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}
