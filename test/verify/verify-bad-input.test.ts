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
    // The templates here are broken on purpose: CloudFormation's own validation (a `cdk init` flag) would stop synth first.
    app.node.setContext('@aws-cdk/core:validateAgainstDefaultRules', false);
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
      cfn.addPropertyOverride('Policies', [
        { PolicyName: 'broken', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: 's3:GetObject', Resource: '*' }] } },
      ]);
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
    expect(unknown.stderr).toContain('unknown option "--jsn"');
    expect(unknown.stderr).toContain('did you mean --json?');
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

describe('the command line of verify and export-scp: one parser, clear usage errors (exit 2)', () => {
  const helps = [
    ['verify', '--help'],
    ['verify', '-h'],
    ['export-scp', '--help'],
    ['export-scp', '-h'],
  ];
  test.each(helps)('%s %s prints the usage to stdout and exits 0', async (command, flag) => {
    const run = await cli(command, flag);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toMatch(new RegExp(`^usage: cdk-agent-guardrails ${command} `));
    expect(run.stdout).toContain('--help, -h');
    expect(run.stderr).toBe('');
  });

  test.each([
    [['verify', '--html'], '--html needs a value, and nothing follows it'],
    [['verify', '--html', '--json'], '--html needs a value, got "--json", which reads as an option'],
    [['verify', '--json=yes'], '--json takes no value, got "--json=yes"'],
    [['verify', 'cdk.out', 'other.out'], 'unexpected argument "other.out"'],
    [['verify', '--role-arn', 'arn:aws:iam::123456789012:role/x'], '--role-arn and --endpoint go with --live'],
    [['verify', '--non-production', ' , '], '--non-production needs at least one tag value'],
    [['export-scp', 'extra'], 'unexpected argument "extra"'],
    [['export-scp', '--max-policies', '0'], '--max-policies must be a positive integer, got "0"'],
    [['export-scp', '--max-policies=-1'], '--max-policies must be a positive integer, got "-1"'],
    [['export-scp', '--accounts', '123456789012', '--tag-key', 'env'], '--accounts replaces the tag-based scope'],
    [['export-scp', '--with-escalaton'], 'did you mean --with-escalation?'],
  ])('fails with a usage error for %j', async (argv, message) => {
    const run = await cli(...argv);
    expect(run.code).toBe(EXIT.usage);
    // stdout carries results only; with --json, the error as JSON (a pipeline reading stdout sees it)
    if (argv.includes('--json')) expect(JSON.parse(run.stdout).error.exitCode).toBe(EXIT.usage);
    else expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/\nfix: /);
    expectNoStackTrace(run.stderr);
  });

  test('a structural usage error is followed by the usage; the value given twice keeps the last', async () => {
    const run = await cli('verify', '--bogus');
    expect(run.stderr).toContain('usage: cdk-agent-guardrails verify [cdk.out] [options]');
    const missing = path.join(os.tmpdir(), 'verify-does-not-exist', 'cdk.out');
    const twice = await cli('verify', '--tag-key', 'a', '--tag-key', 'b', missing);
    expect(twice.code).toBe(EXIT.input);
  });

  test('fails when a file is passed for cdk.out: it says it is a file, not that the directory does not exist', async () => {
    // GIVEN a file where the cdk.out directory belongs (a new user's `verify package.json`)
    const file = path.join(__dirname, '..', '..', 'package.json');
    // WHEN verify is run on it
    const run = await cli('verify', file);
    // THEN exit 3 and a message saying what the path is and what to pass
    expect(run.code).toBe(EXIT.input);
    expect(run.stderr).toContain(`no cloud assembly at ${file}: it is a file, not a directory`);
    expect(run.stderr).not.toContain('does not exist');
    expectNoStackTrace(run.stderr);
  });

  test('fails when --json errors reach stderr only: they are JSON on stdout too, with the exit code and the fix', async () => {
    const missing = path.join(os.tmpdir(), 'verify-does-not-exist', 'cdk.out');
    const run = await cli('verify', missing, '--json');
    expect(run.code).toBe(EXIT.input);
    const parsed = JSON.parse(run.stdout);
    expect(parsed.error).toEqual(expect.objectContaining({ command: 'verify', exitCode: EXIT.input }));
    expect(parsed.error.message).toContain('the directory does not exist');
  });
});

describe('the CLI entry', () => {
  test('--version, -V and version print the package version and exit 0', async () => {
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-V', 'version']) {
      const run = await cli(flag);
      expect([flag, run.code, run.stdout]).toEqual([flag, 0, version]);
    }
  });

  test('fails when a mistyped command gets no suggestion: "did you mean", the usage, exit 2', async () => {
    const run = await cli('verfy', 'cdk.out');
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('unknown command "verfy"; did you mean `verify`?');
    expect(run.stderr).toContain('usage: cdk-agent-guardrails <command> [options]');
    const far = await cli('deploy');
    expect(far.stderr).not.toContain('did you mean');
  });

  test('--help and -h print the usage and exit 0, for the CLI and for verify', async () => {
    for (const argv of [['--help'], ['-h'], ['verify', '--help'], ['verify', '-h']]) {
      const run = await cli(...argv);
      expect([argv, run.code]).toEqual([argv, 0]);
      expect(run.stdout + run.stderr).toMatch(/usage: cdk-agent-guardrails/);
    }
  });
});
