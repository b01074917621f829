/**
 * Foundation figures (issues 2 and 16), measured in one run:
 * - synth time of an app with 100 agent roles and 200 production resources, guarded vs plain iam.Role (ratio), and of 1,000 agents
 *   (per-agent cost at both sizes: growth must be linear or better);
 * - loading the package (as built: the lazy index) against loading aws-cdk-lib alone, in fresh processes;
 * - constructing the first AgentRole in a fresh process against the first plain iam.Role;
 * - each generated policy's size against its IAM quota;
 * - catalog actions denied on production under simulation, out of the catalog's size.
 */
import { App, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentRole } from '../lib';
import { HARMFUL_ACTION_CLASSES } from '../lib/shared/action-classes';
import { ACTION_CLASS_MEMBERS } from '../lib/shared/action-classes.generated';
import { DESTRUCTIVE_CATALOG } from '../lib/shared/destructive-catalog.generated';
import { IAM_QUOTAS, policySize } from '../lib/shared/policy-size';
import { effectivePolicies } from '../test/support/effective-policies';
import { decideOnSample } from '../test/support/simulate';
import { ACCOUNT, REGION } from '../test/support/template-resolver';
import { medianMs, medianOf } from './timing';
import { buildLoadableCopy } from '../scripts/lazy-index';
import { spawnSync } from 'child_process';

function buildApp(guarded: boolean, agentCount = 100): App {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-')) });
  const prod = new Stack(app, 'Production', { env: { account: ACCOUNT, region: REGION } });
  Tags.of(prod).add('environment', 'production');
  const tables: dynamodb.Table[] = [];
  for (let i = 0; i < 100; i++) {
    tables.push(new dynamodb.Table(prod, `Table${i}`, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }));
    new s3.Bucket(prod, `Bucket${i}`, { versioned: true });
  }
  // 25 agents per stack, each granted reads of one production table
  for (let stackIndex = 0; stackIndex < agentCount / 25; stackIndex++) {
    const agents = new Stack(app, `Agents${stackIndex}`, { env: { account: ACCOUNT, region: REGION } });
    for (let i = 0; i < 25; i++) {
      const n = stackIndex * 25 + i;
      const role = guarded
        ? new AgentRole(agents, `Agent${n}`, { agentName: `agent-${n}`, assumedBy: new iam.AccountRootPrincipal() })
        : new iam.Role(agents, `Agent${n}`, { assumedBy: new iam.AccountRootPrincipal() });
      tables[n % tables.length].grantReadData(role);
    }
  }
  return app;
}

export async function bench(): Promise<void> {
  const plain = await medianMs(() => buildApp(false).synth(), 3);
  const guarded = await medianMs(() => buildApp(true).synth(), 3);
  console.log(
    `synth, 100 agents + 200 production resources: plain iam.Role ${plain.toFixed(0)} ms, AgentRole ${guarded.toFixed(0)} ms, ratio ` +
      `${(guarded / plain).toFixed(2)}x (target 1.10x); guard cost per agent ${((guarded - plain) / 100).toFixed(1)} ms`,
  );
  // One run each, the process warm from the runs above: a 1,000-agent synth takes tens of seconds on a shared machine.
  const plain1000 = await medianMs(() => buildApp(false, 1000).synth(), 1, false);
  const guarded1000 = await medianMs(() => buildApp(true, 1000).synth(), 1, false);
  console.log(
    `synth, 1,000 agents + 200 production resources: plain iam.Role ${plain1000.toFixed(0)} ms, AgentRole ${guarded1000.toFixed(0)} ms, ratio ` +
      `${(guarded1000 / plain1000).toFixed(2)}x; guard cost per agent ${((guarded1000 - plain1000) / 1000).toFixed(1)} ms ` +
      `(at 100 agents: ${((guarded - plain) / 100).toFixed(1)} ms; linear or better when not larger)`,
  );

  loadingFigures();

  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-')) });
  const stack = new Stack(app, 'One', { env: { account: ACCOUNT, region: REGION } });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'bench', assumedBy: new iam.AccountRootPrincipal() });
  agent.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
  const template = app.synth().getStackByName('One').template;
  console.log('generated policies (characters without whitespace / IAM quota):');
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    if (r.Type === 'AWS::IAM::ManagedPolicy') {
      const size = policySize(r.Properties.PolicyDocument);
      console.log(
        `  ${id.padEnd(60)} ${String(size).padStart(5)} / ${IAM_QUOTAS.managedPolicy} (${((100 * size) / IAM_QUOTAS.managedPolicy).toFixed(0)}%)`,
      );
    }
    if (r.Type === 'AWS::IAM::Role') {
      console.log(
        `  ${`${id} trust policy`.padEnd(60)} ${String(policySize(r.Properties.AssumeRolePolicyDocument)).padStart(5)} / ${IAM_QUOTAS.trustPolicy}`,
      );
    }
  }

  const roleResource = template.Resources[stack.getLogicalId(agent.node.defaultChild as iam.CfnRole)];
  const attached = (roleResource.Properties.ManagedPolicyArns ?? []).length;
  console.log(
    `managed policies attached to the agent role (AdministratorAccess included): ${attached} of ${IAM_QUOTAS.managedPoliciesPerRole}; ` +
      `permissions boundary: 1 (${agent.protection.kind})`,
  );

  const policies = effectivePolicies(template, stack.getLogicalId(agent.node.defaultChild as iam.CfnRole));
  const harmful = [...new Set(HARMFUL_ACTION_CLASSES.flatMap((c) => ACTION_CLASS_MEMBERS[c]))];
  let harmfulDenied = 0;
  for (const action of harmful) {
    if ((await decideOnSample(policies, { action, tags: {} })) !== 'Allowed') harmfulDenied++;
  }
  console.log(
    `harmful-class actions (destroy, disrupt, isolate, redirect, reconfigure, run code, blind) not allowed on an untagged resource: ` +
      `${harmfulDenied} / ${harmful.length}`,
  );
  let denied = 0;
  for (const [action] of DESTRUCTIVE_CATALOG) {
    if ((await decideOnSample(policies, { action, tags: { environment: 'production' } })) === 'ExplicitlyDenied') denied++;
  }
  console.log(
    `catalog actions denied on a production resource under simulation (role with AdministratorAccess): ${denied} / ${DESTRUCTIVE_CATALOG.length}`,
  );
}

/** Runs a script in a fresh node process and returns the number it prints (milliseconds). */
function freshProcessMs(script: string, cwd: string): number {
  const result = spawnSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' });
  const value = Number(result.stdout.trim().split('\n').pop());
  if (result.status !== 0 || !Number.isFinite(value)) {
    throw new Error(`bench child failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return value;
}

const NOW = 'const now = () => Number(process.hrtime.bigint()) / 1e6;';

/**
 * Loading and the first AgentRole as a user meets them: the package compiled as `npm run build`
 * emits it (file by file, the index made lazy by scripts/lazy-index.ts), each figure in fresh
 * processes, the median of 3.
 */
function loadingFigures(): void {
  const root = path.join(__dirname, '..');
  const index = buildLoadableCopy(root, fs.mkdtempSync(path.join(os.tmpdir(), 'bench-load-')));
  const cwd = path.dirname(path.dirname(index));
  const cdkAlone = medianOf(3, () => freshProcessMs(`${NOW} const t = now(); require('aws-cdk-lib'); console.log(now() - t);`, cwd));
  const withPackage = medianOf(3, () =>
    freshProcessMs(`${NOW} const t = now(); require('aws-cdk-lib'); require(${JSON.stringify(index)}); console.log(now() - t);`, cwd),
  );
  console.log(
    `loading: aws-cdk-lib alone ${cdkAlone.toFixed(1)} ms, aws-cdk-lib and cdk-agent-guardrails ${withPackage.toFixed(1)} ms, ratio ` +
      `${(withPackage / cdkAlone).toFixed(2)}x (target 1.2x)`,
  );
  const setup =
    `${NOW} const cdk = require('aws-cdk-lib'); const iam = require('aws-cdk-lib/aws-iam'); const lib = require(${JSON.stringify(index)}); ` +
    `const stack = new cdk.Stack(new cdk.App(), 'S'); const t = now();`;
  const plainRole = medianOf(3, () =>
    freshProcessMs(`${setup} new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }); console.log(now() - t);`, cwd),
  );
  const agentRole = medianOf(3, () =>
    freshProcessMs(
      `${setup} new lib.AgentRole(stack, 'R', { agentName: 'first', assumedBy: new iam.AccountRootPrincipal() }); console.log(now() - t);`,
      cwd,
    ),
  );
  console.log(
    `first role in a fresh process (features loaded on first use included): iam.Role ${plainRole.toFixed(1)} ms, AgentRole ` +
      `${agentRole.toFixed(1)} ms, ${(agentRole - plainRole).toFixed(1)} ms more (target 50 ms)`,
  );
}
