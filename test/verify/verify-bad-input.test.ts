import { Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXIT } from '../../lib/cli/command';
import { cli, synthTo } from './verify-fixtures';

/** No stack trace may reach the user: no "    at fn (file:line)" lines, no error class dumps. */
function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+[:(]\d+/m);
  expect(text).not.toMatch(/TypeError|ReferenceError|SyntaxError: /);
}

function taggedAgentApp(configure: (stack: Stack, role: iam.Role) => void = () => undefined): string {
  return synthTo((app) => {
    const stack = new Stack(app, 'Ops');
    const role = new iam.Role(stack, 'Bot', { assumedBy: new iam.AccountRootPrincipal() });
    Tags.of(role).add('guardrails:agent', 'bot');
    configure(stack, role);
  }, 'verify-bad-');
}

describe('verify with bad input: a clear message and a distinct exit code, never a stack trace', () => {
  test('fails when the cdk.out directory is missing (exit 3)', async () => {
    const missing = path.join(os.tmpdir(), 'verify-does-not-exist', 'cdk.out');
    const run = await cli('verify', missing);
    expect(run.code).toBe(EXIT.input);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`no cloud assembly at ${missing}: the directory does not exist. Run \`cdk synth\` first`);
    expect(run.stdout).toBe('');
    expectNoStackTrace(run.stderr);
  });

  test('fails when the directory holds no manifest (exit 3)', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-empty-'));
    const run = await cli('verify', empty);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('manifest.json is missing');
    expectNoStackTrace(run.stderr);
    fs.rmSync(empty, { recursive: true, force: true });
  });

  test('fails when the manifest is corrupt (exit 3)', async () => {
    const dir = taggedAgentApp();
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"version": "55.0.0", "artifacts": {');
    const run = await cli('verify', dir);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/manifest .*manifest\.json is not valid JSON \(.+\); the cloud assembly is corrupt/);
    expectNoStackTrace(run.stderr);
  });

  test('fails when a template is corrupt (exit 3)', async () => {
    const dir = taggedAgentApp();
    fs.writeFileSync(path.join(dir, 'Ops.template.json'), '["not", "a", "template"]');
    const run = await cli('verify', dir);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('Ops.template.json is not a CloudFormation template');
    expectNoStackTrace(run.stderr);
  });

  test('fails when the assembly holds no agent role (exit 5): nothing verified is not a pass', async () => {
    const dir = synthTo((app) => {
      const stack = new Stack(app, 'Data');
      new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      new iam.Role(stack, 'LambdaRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    }, 'verify-no-agent-');
    const run = await cli('verify', dir);
    expect(run.code).toBe(EXIT.noAgents);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('no agent role in the cloud assembly');
    expect(run.stderr).toContain('--agent');
    expectNoStackTrace(run.stderr);
  });

  test('fails when a policy of an agent does not parse (exit 6), naming the agent and the policy', async () => {
    // GIVEN an agent whose inline policy has an effect IAM does not know
    const dir = taggedAgentApp((_stack, role) => {
      const cfn = role.node.defaultChild as iam.CfnRole;
      cfn.addPropertyOverride('Policies', [{ PolicyName: 'broken', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: 's3:GetObject', Resource: '*' }] } }]);
    });
    const run = await cli('verify', dir);
    expect(run.code).toBe(EXIT.badPolicy);
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('agent bot');
    expect(run.stderr).toContain('policy broken does not parse');
    expect(run.stderr).toContain('Maybe');
    expectNoStackTrace(run.stderr);
  });

  test('fails with a usage error (exit 2) for --live without --role-arn, an unknown option or an unknown --agent', async () => {
    const dir = taggedAgentApp();
    const live = await cli('verify', dir, '--live');
    expect(live.code).toBe(2);
    expect(live.stderr).toContain('--live needs --role-arn ARN');
    const unknown = await cli('verify', dir, '--jsn');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unexpected argument "--jsn"');
    const agent = await cli('verify', dir, '--agent', 'NoSuchRole');
    expect(agent.code).toBe(2);
    expect(agent.stderr).toContain('--agent "NoSuchRole" matches no role');
    for (const run of [live, unknown, agent]) expectNoStackTrace(run.stderr);
  });

  test('the exit codes of the kinds of bad input are distinct from each other and from findings', () => {
    const codes = [EXIT.ok, EXIT.findings, EXIT.usage, EXIT.input, EXIT.remote, EXIT.noAgents, EXIT.badPolicy];
    expect(new Set(codes).size).toBe(codes.length);
  });
});
