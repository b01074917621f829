import { App, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fs from 'fs';
import * as path from 'path';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { TemplateResolver, isUnresolved } from '../../lib/verify/model/template-values';
import { cdkInitContext } from './cdk-init-context';
import { cli, synthTo } from './verify-fixtures';

const ENV = { account: '123456789012', region: 'us-east-1' };

/** The app a new user writes: a production table in one stack, an agent role granted on it (`table.tableArn`) in another. */
function twoStacks(app: App): void {
  const data = new Stack(app, 'Data', { env: ENV });
  Tags.of(data).add('environment', 'production');
  const table = new dynamodb.Table(data, 'Orders', { tableName: 'orders', partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const agents = new Stack(app, 'Agents', { env: ENV });
  const role = new iam.Role(agents, 'Agent', { roleName: 'agent', assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
  table.grantReadWriteData(role);
}

function templateText(dir: string, stack: string): string {
  return fs.readFileSync(path.join(dir, `${stack}.template.json`), 'utf8');
}

describe('verify on a fresh `cdk init` app whose agent is granted on another stack (weak cross-stack references)', () => {
  let weak: string;
  let strong: string;
  beforeAll(() => {
    // GIVEN the two-stack app synthesized with the flags of the current `cdk init` template
    expect(cdkInitContext()['@aws-cdk/core:defaultCrossStackReferences']).toBe('weak');
    weak = synthTo(twoStacks, 'verify-weak-');
    // AND the same app with strong references (exports and Fn::ImportValue)
    strong = synthTo((app) => {
      app.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
      twoStacks(app);
    }, 'verify-strong-');
  });

  test('the agent policy refers to the table through Fn::GetStackOutput, and through Fn::ImportValue with strong references', () => {
    expect(templateText(weak, 'Agents')).toContain('Fn::GetStackOutput');
    expect(templateText(strong, 'Agents')).toContain('Fn::ImportValue');
  });

  test('fails when the weak reference stops verify: it resolves the ARN and evaluates the grant instead', async () => {
    // WHEN verify reads the assembly
    const run = await cli('verify', weak, '--json');
    // THEN it reports (the agent can neither destroy production nor escalate: exit 0), not a bad-input exit 6
    expect(run.stderr).not.toContain('GetStackOutput');
    expect(run.code).toBe(0);
    const report: VerifyReport = JSON.parse(run.stdout);
    const agent = report.agents[0];
    const orders = agent.resources.find((r) => r.resource === 'Data/Orders')!;
    // AND every value of the agent's policy was resolved, the table's ARN read from the Data stack's output included
    expect(agent.unresolvedValues).toEqual([]);
    expect(orders.arn).toBe('arn:aws:dynamodb:us-east-1:123456789012:table/orders');
    // AND the explicit grant on the table (table.tableArn in the user's code) is evaluated: its item deletes are allowed
    expect(orders.status).toBe('granted');
    expect(orders.grantedData).toEqual(expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']));
    expect(orders.canDestroy).toEqual([]);
  });

  test('weak and strong references give the same verdicts', async () => {
    const verdicts = async (dir: string) => {
      const report: VerifyReport = JSON.parse((await cli('verify', dir, '--json')).stdout);
      return report.agents.map((a) => a.resources.map((r) => [r.resource, r.canDestroy, r.canDeleteData]));
    };
    expect(await verdicts(weak)).toEqual(await verdicts(strong));
  });
});

describe('Fn::GetStackOutput', () => {
  const env = { stackName: 'Agents', account: '123456789012', region: 'us-east-1', partition: 'aws' };
  const arn = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';

  test('resolves to the output of the named stack in its region', () => {
    const seen: unknown[] = [];
    const resolver = new TemplateResolver(env, {}, {
      stackOutput: (stack, region, output) => {
        seen.push([stack, region, output]);
        return stack === 'Data' && output === 'TableArn' ? arn : undefined;
      },
    });
    expect(resolver.resolve({ 'Fn::GetStackOutput': { StackName: 'Data', Region: { Ref: 'AWS::Region' }, OutputName: 'TableArn' } })).toBe(arn);
    expect(seen).toEqual([['Data', 'us-east-1', 'TableArn']]);
  });

  test('fails when the stack or output is unknown: an unresolved marker naming both, never a guess', () => {
    const resolver = new TemplateResolver(env, {}, { stackOutput: () => undefined });
    const value = resolver.resolve({ 'Fn::GetStackOutput': { StackName: 'Elsewhere', OutputName: 'Missing' } });
    expect(isUnresolved(value)).toBe(true);
    expect([...resolver.unresolved]).toEqual(['GetStackOutput Elsewhere.Missing']);
  });
});
