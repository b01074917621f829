/**
 * `approvals console` run as the CLI runs it: it serves until interrupted, then stops listening.
 * A file of its own: playwright-core (the browser tests) exits the process on SIGINT.
 */
import * as http from 'http';
import { run } from '../../lib/cli/approvals-console';

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

test('run serves the page until interrupted (Ctrl-C), then stops listening and exits 0', async () => {
  // GIVEN the console started as the CLI starts it (the page itself calls no handler)
  const out: string[] = [];
  const exit = run(['--url', 'http://127.0.0.1:9/', '--region', 'us-east-1'], { out: (l) => out.push(l), err: () => undefined });
  while (!out.length) await new Promise((r) => setTimeout(r, 10));
  const url = out[0];
  await expect(status(url)).resolves.toBe(200);
  // WHEN the person presses Ctrl-C
  process.emit('SIGINT', 'SIGINT');
  // THEN the command ends with 0 and the page is no longer served (refused, or a connection the closing socket had queued is dropped)
  await expect(exit).resolves.toBe(0);
  await expect(status(url)).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|ECONNRESET)$/) });
  expect(process.listenerCount('SIGINT')).toBe(0);
});
