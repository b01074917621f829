/**
 * Foundation figures (issues 2 and 16), measured in one run:
 * - synth time of an app with 100 agent roles and 200 production resources, guarded vs plain iam.Role (ratio), and of 1,000 agents
 *   (per-agent cost at both sizes: growth must be linear or better), and of 100 agents without aws-cdk-lib's built-in CloudFormation
 *   validation (the share of the guard's cost that is that validation's);
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
import { measureMs, median } from './timing';
import { buildLoadableCopy } from '../scripts/lazy-index';
import { spawnSync } from 'child_process';

function buildApp(guarded: boolean, agentCount = 100, builtinCloudFormationValidation = true): App {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-')), builtinCloudFormationValidation });
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
  // Plain and guarded runs alternate and each pair gives a ratio: on a shared machine the load drifts
  // between runs, and a ratio of two runs taken side by side drifts least (median of the pairs).
  const hundred = await pairedSynth(100, 5);
  console.log(
    `synth, 100 agents + 200 production resources: plain iam.Role ${hundred.plain.toFixed(0)} ms, AgentRole ${hundred.guarded.toFixed(0)} ms, ` +
      `ratio ${hundred.ratio.toFixed(2)}x (target 1.10x; median of ${hundred.pairs} side-by-side pairs; ` +
      `in CPU time ${hundred.cpuRatio.toFixed(2)}x); guard cost per agent ${hundred.perAgent.toFixed(1)} ms ` +
      `(CPU ${hundred.cpuPerAgent.toFixed(1)} ms)`,
  );
  // aws-cdk-lib's built-in CloudFormation validation (on by default) costs in proportion to the entries of
  // policies' lists, and every agent's boundary lists about 140: the same app without it shows the rest.
  const unvalidated = await pairedSynth(100, 3, true, false);
  console.log(
    `synth, 100 agents, without aws-cdk-lib's built-in CloudFormation validation: plain iam.Role ${unvalidated.plain.toFixed(0)} ms, AgentRole ` +
      `${unvalidated.guarded.toFixed(0)} ms, ratio ${unvalidated.ratio.toFixed(2)}x (in CPU time ${unvalidated.cpuRatio.toFixed(2)}x); guard cost ` +
      `per agent ${unvalidated.perAgent.toFixed(1)} ms ` +
      `(the validation's share of it: ${(hundred.perAgent - unvalidated.perAgent).toFixed(1)} ms)`,
  );
  // One pair, the process warm from the runs above: a 1,000-agent synth takes tens of seconds on a shared machine.
  const thousand = await pairedSynth(1000, 1, false);
  console.log(
    `synth, 1,000 agents + 200 production resources: plain iam.Role ${thousand.plain.toFixed(0)} ms, AgentRole ${thousand.guarded.toFixed(0)} ms, ` +
      `ratio ${thousand.ratio.toFixed(2)}x (in CPU time ${thousand.cpuRatio.toFixed(2)}x); ` +
      `guard cost per agent ${thousand.perAgent.toFixed(1)} ms, ` +
      `CPU ${thousand.cpuPerAgent.toFixed(1)} ms (at 100 agents: ${hundred.perAgent.toFixed(1)} ms, CPU ${hundred.cpuPerAgent.toFixed(1)} ms; ` +
      `linear or better when not larger)`,
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

interface PairedSynth {
  readonly plain: number;
  readonly guarded: number;
  readonly ratio: number;
  /** The same ratio in CPU time of this process: what the load of a shared machine changes least. */
  readonly cpuRatio: number;
  readonly cpuPerAgent: number;
  readonly perAgent: number;
  readonly pairs: number;
}

/** Synth of the app with plain roles and with AgentRoles, alternating; medians of the times, the ratios and the per-agent differences. */
async function pairedSynth(agentCount: number, pairs: number, warmUp = true, validation = true): Promise<PairedSynth> {
  // Construction and synth, as `cdk synth` runs them; the cloud assembly is removed afterwards.
  const synth = (guarded: boolean) => {
    let outdir = '';
    const cpuStart = process.cpuUsage();
    const ms = measureMs(() => {
      const app = buildApp(guarded, agentCount, validation);
      outdir = app.outdir;
      app.synth();
    });
    const cpu = process.cpuUsage(cpuStart);
    fs.rmSync(outdir, { recursive: true, force: true });
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  if (warmUp) {
    synth(false);
    synth(true);
  }
  const plain: number[] = [];
  const guarded: number[] = [];
  const cpuRatios: number[] = [];
  const cpuPerAgent: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const p = synth(false);
    const g = synth(true);
    plain.push(p.ms);
    guarded.push(g.ms);
    cpuRatios.push(g.cpuMs / p.cpuMs);
    cpuPerAgent.push((g.cpuMs - p.cpuMs) / agentCount);
  }
  return {
    plain: median(plain),
    guarded: median(guarded),
    ratio: median(plain.map((p, i) => guarded[i] / p)),
    cpuRatio: median(cpuRatios),
    cpuPerAgent: median(cpuPerAgent),
    perAgent: median(plain.map((p, i) => (guarded[i] - p) / agentCount)),
    pairs,
  };
}

/** Runs a script in a fresh node process and returns the numbers of the last line it prints (milliseconds). */
function freshProcessNumbers(script: string, cwd: string): number[] {
  const result = spawnSync(process.execPath, ['-e', script], { cwd, encoding: 'utf8' });
  const values = (result.stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (result.status !== 0 || values.length === 0 || !values.every(Number.isFinite)) {
    throw new Error(`bench child failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return values;
}

/** Runs a script in a fresh node process and returns the number it prints (milliseconds). */
function freshProcessMs(script: string, cwd: string): number {
  return freshProcessNumbers(script, cwd)[0];
}

const NOW = 'const now = () => Number(process.hrtime.bigint()) / 1e6;';

/**
 * Loading and the first AgentRole as a user meets them: the package compiled as `npm run build`
 * emits it (file by file, the index made lazy by scripts/lazy-index.ts), each figure in fresh
 * processes. Loading takes milliseconds, which the load of a shared machine changes from one process
 * to the next: each process times aws-cdk-lib and then the package, and the ratio is the median over
 * 11 processes of the two taken in the same process. The first roles alternate, 7 processes each.
 */
function loadingFigures(): void {
  const root = path.join(__dirname, '..');
  const index = buildLoadableCopy(root, fs.mkdtempSync(path.join(os.tmpdir(), 'bench-load-')));
  const cwd = path.dirname(path.dirname(index));
  const loads = Array.from({ length: 11 }, () => {
    const [cdk, pkg] = freshProcessNumbers(
      `${NOW} let t = now(); require('aws-cdk-lib'); const cdk = now() - t; t = now(); require(${JSON.stringify(index)}); ` +
        `console.log(cdk, now() - t);`,
      cwd,
    );
    return { cdk, pkg, ratio: (cdk + pkg) / cdk };
  });
  console.log(
    `loading: aws-cdk-lib alone ${median(loads.map((l) => l.cdk)).toFixed(1)} ms, then cdk-agent-guardrails ` +
      `${median(loads.map((l) => l.pkg)).toFixed(1)} ms more; aws-cdk-lib and cdk-agent-guardrails / aws-cdk-lib alone ` +
      `${median(loads.map((l) => l.ratio)).toFixed(2)}x (target 1.2x; median of ${loads.length} fresh processes)`,
  );
  const setup =
    `${NOW} const cdk = require('aws-cdk-lib'); const iam = require('aws-cdk-lib/aws-iam'); const lib = require(${JSON.stringify(index)}); ` +
    `const stack = new cdk.Stack(new cdk.App(), 'S'); const t = now();`;
  const plainRoles: number[] = [];
  const agentRoles: number[] = [];
  for (let i = 0; i < 7; i++) {
    plainRoles.push(freshProcessMs(`${setup} new iam.Role(stack, 'R', { assumedBy: new iam.AccountRootPrincipal() }); console.log(now() - t);`, cwd));
    agentRoles.push(
      freshProcessMs(
        `${setup} new lib.AgentRole(stack, 'R', { agentName: 'first', assumedBy: new iam.AccountRootPrincipal() }); console.log(now() - t);`,
        cwd,
      ),
    );
  }
  const plainRole = median(plainRoles);
  const agentRole = median(agentRoles);
  console.log(
    `first role in a fresh process (features loaded on first use included): iam.Role ${plainRole.toFixed(1)} ms, AgentRole ` +
      `${agentRole.toFixed(1)} ms, ${(agentRole - plainRole).toFixed(1)} ms more (target 50 ms; medians of 7 fresh processes each)`,
  );
}
