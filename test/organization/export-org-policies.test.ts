import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cli } from '../verify/verify-fixtures';
import { ACCOUNT, PolicyDocument, simulate } from './org-fixtures';

describe('export-org-policies: the organization guard as SCPs and RCPs, from the command line', () => {
  test('prints 2 SCPs and 2 RCPs within the quota and reports what each carries and what RCPs cannot reach', async () => {
    // WHEN the policies are exported with the defaults
    const run = await cli('export-org-policies');
    // THEN they fit the default budget, and the report names the services RCPs cannot reach
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.serviceControlPolicies.length).toBeLessThanOrEqual(2);
    expect(out.resourceControlPolicies.length).toBeLessThanOrEqual(2);
    for (const p of [...out.serviceControlPolicies, ...out.resourceControlPolicies]) {
      expect(JSON.stringify(p.document).length).toBe(p.size);
      expect(p.size).toBeLessThanOrEqual(5120);
    }
    expect(run.stderr).toMatch(/agent-guardrails-scp-1 \(SCP, \d+ of 5120 characters\): DenyChangesToProduction/);
    expect(run.stderr).toMatch(/RCPs reach \d+ services; \d+ services of the destructive catalog are outside them/);
    expect(run.stderr).toMatch(/among them ec2, rds, lambda, iam, cloudformation/);
    // AND the exported policies hold an agent with AdministratorAccess, and not a person
    const policies = { scps: out.serviceControlPolicies.map((p: { document: PolicyDocument }) => p.document), rcps: [] };
    const request = { action: 'rds:DeleteDBInstance', resource: `arn:aws:rds:us-east-1:${ACCOUNT}:db:orders`, tags: { environment: 'production' } };
    await expect(simulate(policies, { ...request, agent: true })).resolves.toBe('ExplicitlyDenied');
    await expect(simulate(policies, { ...request, agent: false })).resolves.toBe('Allowed');
  });

  test('--out-dir writes one JSON file per policy and the report', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'org-policies-'));
    try {
      const run = await cli('export-org-policies', '--out-dir', dir, '--agent-arn', 'arn:aws:iam::*:role/agent-*', '--budget', 'scps=3');
      expect(run.code).toBe(0);
      const files = fs.readdirSync(dir).sort();
      expect(files).toEqual(expect.arrayContaining(['agent-guardrails-rcp-1.json', 'agent-guardrails-scp-1.json', 'report.txt']));
      for (const file of files.filter((f) => f.endsWith('.json'))) {
        const content = fs.readFileSync(path.join(dir, file), 'utf8');
        expect(content.length).toBeLessThanOrEqual(5120);
        expect(JSON.parse(content).Statement[0].Condition.ArnLike).toEqual({ 'aws:PrincipalArn': 'arn:aws:iam::*:role/agent-*' });
      }
      expect(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8')).toMatch(/covered by the SCPs/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails (exit 7) when the guard does not fit the budget, naming what does not fit', async () => {
    const run = await cli('export-org-policies', '--budget', 'scps=1');
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/needs 2 service control policies .* more than the budget of 1. Does not fit in the first 1: Deny\w+/);
    expect(run.stderr).toContain('Raise it with --budget scps=N');
    expect(run.stderr).toContain('Nothing was dropped to fit.');
  });

  test.each([
    ['a budget entry it does not know', ['--budget', 'scp=2'], /--budget: "scp=2" is not one of scps=N, rcps=N, chars=N/],
    ['a budget over the quota', ['--budget', 'chars=6000'], /budget.maxCharacters must be an integer from 500 to 5120, got 6000/],
    ['both ways to name agents', ['--agent-tag', 'agent', '--agent-arn', 'arn:aws:iam::*:role/a'],
      /--agent-tag and --agent-arn both say who the agents are/],
    ['an account ID that is not one', ['--accounts', '12345'], /"12345" is not a 12-digit AWS account ID/],
    ['a short justification for the weaker protection', ['--no-destruction-only', 'because'], /justification of at least 20 characters/],
  ])('fails with a usage error (exit 2) when given %s', async (_label, args, message) => {
    const run = await cli('export-org-policies', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
