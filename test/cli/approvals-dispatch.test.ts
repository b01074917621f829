/**
 * `approvals console` reached through the CLI's entry point, as a user types it.
 */
import { main } from '../../lib/cli/main';

function capture(): { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

describe('approvals console through the CLI', () => {
  test('GIVEN `approvals console --help` WHEN run THEN the page usage is printed and the exit code is 0', async () => {
    const { out, io } = capture();
    const code = await main(['approvals', 'console', '--help'], io);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/127\.0\.0\.1/);
  });

  test('fails when console gets no --url: usage error, nothing served', async () => {
    const { err, io } = capture();
    const saved = process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
    delete process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
    try {
      const code = await main(['approvals', 'console'], io);
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(/--url/);
    } finally {
      if (saved !== undefined) process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL = saved;
    }
  });

  test('GIVEN `approvals --help` WHEN run THEN the usage names the console', async () => {
    const { out, io } = capture();
    expect(await main(['approvals', '--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/approvals console --url/);
  });
});
