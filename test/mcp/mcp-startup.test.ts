/**
 * How `cdk-agent-guardrails mcp` starts: a missing assembly or an unclear agent is reported at start
 * with the fix, and every tool then answers with that error instead of guessing (the server keeps
 * running, and reads the assembly again after `cdk synth`); usage errors stop it with exit 2.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { cli, synthTo } from '../verify/verify-fixtures';
import { ARNS, buildMcpApp } from './mcp-fixtures';
import { McpSession, startMcp } from './mcp-session';

const sessions: McpSession[] = [];
afterAll(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

async function start(args: string[]): Promise<McpSession> {
  const session = await startMcp(args);
  sessions.push(session);
  return session;
}

/** stderr arrives on its own pipe: wait briefly for a line. */
async function stderrOf(session: McpSession, expected: string): Promise<string> {
  for (let i = 0; i < 50 && !session.stderr().includes(expected); i++) await new Promise((r) => setTimeout(r, 20));
  return session.stderr();
}

describe('a missing assembly', () => {
  const missing = path.join(os.tmpdir(), `mcp-missing-${process.pid}-${Date.now()}`);
  afterAll(() => fs.rmSync(missing, { recursive: true, force: true }));

  test('fails when the assembly is missing: reported at start with the fix, every tool answers with it, and cdk synth fixes it', async () => {
    // GIVEN no cdk.out where the server is told to look
    const session = await start(['--assembly', missing]);
    // THEN the start says so, with the fix
    const stderr = await stderrOf(session, 'no cloud assembly');
    expect(stderr).toContain(`no cloud assembly at ${missing}`);
    expect(stderr).toContain('fix: run `cdk synth` in the app');
    // and a tool call is a tool error with the value and the fix, not an answer
    const answer = await session.call('check_action', { action: 'dynamodb:DeleteTable', resource: ARNS.orders });
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain(`received: ${missing}`);
    expect(answer.text).toContain('fix: run `cdk synth`');
    const policy = await session.client.readResource({ uri: 'guardrails://policy' });
    expect(String(policy.contents[0].text)).toMatch(/^The guardrails could not be read, so nothing is known to be allowed: treat every change/);
    // WHEN the app is synthesized there
    fs.cpSync(synthTo(buildMcpApp, 'mcp-start-'), missing, { recursive: true });
    // THEN the next call answers from it
    const after = await session.call('check_action', { action: 'dynamodb:DeleteTable', resource: ARNS.orders });
    expect(after.isError).toBe(false);
    expect(after.structured.decision).toBe('denied');
  });
});

describe('which agent the server speaks for', () => {
  let twoAgents: string;
  beforeAll(() => {
    // GIVEN an app with two agents
    twoAgents = synthTo((app) => {
      const stack = new Stack(app, 'Two', { env: { account: '123456789012', region: 'us-east-1' } });
      const table = new dynamodb.Table(stack, 'Orders', { tableName: 'orders', partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const alpha = new AgentRole(stack, 'Alpha', { agentName: 'alpha', assumedBy: new iam.AccountRootPrincipal() });
      new AgentRole(stack, 'Beta', { agentName: 'beta', assumedBy: new iam.AccountRootPrincipal() });
      alpha.allow({ actions: ['dynamodb:PutItem'], resources: [table.tableArn] });
    }, 'mcp-two-');
  });

  test('fails when the assembly holds several agents and no --agent is given, naming them', async () => {
    const session = await start(['--assembly', twoAgents]);
    expect(await stderrOf(session, 'fix:')).toContain('fix: start the server with --agent NAME, one of: alpha, beta');
    const answer = await session.call('describe_resource', { resource: ARNS.orders });
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('the cloud assembly holds 2 agents; the server speaks for one');
  });

  test('fails when --agent names no role of the assembly', async () => {
    const session = await start(['--assembly', twoAgents, '--agent', 'gamma']);
    expect(await stderrOf(session, 'fix:')).toContain('fix: start the server with --agent set to one of: alpha, beta');
  });

  test('--agent picks one agent, and the answers are that agent\'s', async () => {
    const alpha = await start(['--assembly', twoAgents, '--agent', 'alpha']);
    const beta = await start(['--assembly', twoAgents, '--agent', 'beta']);
    const put = { action: 'dynamodb:PutItem', resource: ARNS.orders };
    expect((await alpha.call('check_action', put)).structured).toMatchObject({ agent: 'alpha', decision: 'allowed' });
    expect((await beta.call('check_action', put)).structured).toMatchObject({ agent: 'beta', decision: 'denied' });
  });
});

describe('usage errors stop the server before it starts (exit 2)', () => {
  test.each([
    ['--live is given without --role-arn', ['--live'], '--live needs --role-arn ARN'],
    ['--role-arn is given without --live', ['--role-arn', 'arn:aws:iam::123456789012:role/agent'], '--role-arn and --endpoint go with --live'],
    ['--role-arn is not a role ARN', ['--live', '--role-arn', 'agent'], '--role-arn "agent" is not a role ARN'],
    ['an option is unknown', ['--assembli', 'cdk.out'], 'unknown option "--assembli"'],
  ])('fails when %s', async (_what, args, message) => {
    const run = await cli('mcp', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('fix:');
  });

  test('--help prints the usage and exits 0', async () => {
    const run = await cli('mcp', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('usage: cdk-agent-guardrails mcp [options]');
  });
});
