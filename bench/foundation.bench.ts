/**
 * Foundation figures (issue 2), measured in one run:
 * - synth time of an app with 100 agent roles and 200 production resources, guarded vs plain iam.Role (ratio);
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
import { medianMs } from './timing';

function buildApp(guarded: boolean): App {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-')) });
  const prod = new Stack(app, 'Production', { env: { account: ACCOUNT, region: REGION } });
  Tags.of(prod).add('environment', 'production');
  const tables: dynamodb.Table[] = [];
  for (let i = 0; i < 100; i++) {
    tables.push(new dynamodb.Table(prod, `Table${i}`, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }));
    new s3.Bucket(prod, `Bucket${i}`, { versioned: true });
  }
  for (let stackIndex = 0; stackIndex < 4; stackIndex++) {
    const agents = new Stack(app, `Agents${stackIndex}`, { env: { account: ACCOUNT, region: REGION } });
    for (let i = 0; i < 25; i++) {
      const n = stackIndex * 25 + i;
      const role = guarded
        ? new AgentRole(agents, `Agent${n}`, { agentName: `agent-${n}`, assumedBy: new iam.AccountRootPrincipal() })
        : new iam.Role(agents, `Agent${n}`, { assumedBy: new iam.AccountRootPrincipal() });
      tables[n].grantReadData(role);
    }
  }
  return app;
}

export async function bench(): Promise<void> {
  const plain = await medianMs(() => buildApp(false).synth(), 3);
  const guarded = await medianMs(() => buildApp(true).synth(), 3);
  console.log(
    `synth, 100 agents + 200 production resources: plain iam.Role ${plain.toFixed(0)} ms, AgentRole ${guarded.toFixed(0)} ms, ratio ` +
      `${(guarded / plain).toFixed(2)}x`,
  );

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
