/**
 * Issue 12 item 9: `--agent` takes a construct path as tree.json shows it, also for a cloud assembly written by a
 * plain `app.synth()` (no CDK CLI, so no `aws:cdk:path` metadata in the templates), and resources are named by
 * their construct paths there too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { cdkInitContext } from './cdk-init-context';
import { cli } from './verify-fixtures';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A plain role nothing marks as an agent (only --agent can name it), in a stack and in a stage's stack; app.synth() only. */
function plainSynth(): { dir: string; treePaths: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-plain-synth-'));
  dirs.push(dir);
  const app = new App({ outdir: dir, context: cdkInitContext() });
  for (const scope of [app, new Stage(app, 'Beta')]) {
    const stack = new Stack(scope, 'Ops', { env: { account: '123456789012', region: 'us-east-1' } });
    new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const role = new iam.Role(stack, 'Runner', { assumedBy: new iam.AccountRootPrincipal() });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteTable'], resources: ['*'] }));
    const custom = new iam.Role(stack, 'Custom', { assumedBy: new iam.AccountRootPrincipal() });
    (custom.node.defaultChild as iam.CfnRole).overrideLogicalId('MyOwnLogicalId');
  }
  app.synth();
  const tree = JSON.parse(fs.readFileSync(path.join(dir, 'tree.json'), 'utf8'));
  const treePaths: string[] = [];
  const walk = (n: any) => {
    if (n?.path) treePaths.push(n.path);
    Object.values(n?.children ?? {}).forEach(walk);
  };
  walk(tree.tree);
  return { dir, treePaths };
}

describe('verify on an assembly from a plain app.synth()', () => {
  let dir: string;
  let treePaths: string[];
  beforeAll(() => ({ dir, treePaths } = plainSynth()));

  test('the templates carry no path metadata (what makes this case different)', () => {
    const template = JSON.parse(fs.readFileSync(path.join(dir, 'Ops.template.json'), 'utf8'));
    expect(Object.values<any>(template.Resources).some((r) => r.Metadata?.['aws:cdk:path'] !== undefined)).toBe(false);
  });

  test.each([
    ['the role construct', 'Ops/Runner', 'Ops/Runner/Resource'],
    ['its CfnRole', 'Ops/Runner/Resource', 'Ops/Runner/Resource'],
    ["a stage's role", 'Beta/Ops/Runner', 'Beta/Ops/Runner/Resource'],
    ['a role whose logical ID was overridden', 'Ops/Custom', 'Ops/Custom/Resource'],
  ])('--agent takes the construct path of %s as tree.json shows it', async (_label, selector, constructPath) => {
    expect(treePaths).toContain(selector);
    // WHEN verify is asked about that role by its construct path
    const run = await cli('verify', dir, '--agent', selector, '--json');
    // THEN it finds exactly that role, and names it and the resources by construct path
    expect(run.stderr).not.toContain('matches no role');
    const report: VerifyReport = JSON.parse(run.stdout);
    expect(report.agents.map((a) => a.constructPath)).toEqual([constructPath]);
    expect(report.agents[0].agent).toBe(constructPath.replace(/\/Resource$/, ''));
    expect(report.productionResources.map((r) => r.id)).toEqual(expect.arrayContaining(['Ops/Orders', 'Beta/Ops/Orders']));
  });

  test('the runner that can delete the table is a finding, named by construct paths', async () => {
    const run = await cli('verify', dir, '--agent', 'Ops/Runner', '--json');
    expect(run.code).toBe(1);
    const report: VerifyReport = JSON.parse(run.stdout);
    expect(report.agents[0].harms).toEqual(
      expect.arrayContaining([expect.objectContaining({ resource: 'Ops/Orders', class: 'destructive', action: 'dynamodb:DeleteTable' })]),
    );
  });

  test('fails with a usage error when the path names no role of the tree', async () => {
    const run = await cli('verify', dir, '--agent', 'Ops/NoSuchRunner');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--agent "Ops/NoSuchRunner" matches no role');
  });
});
