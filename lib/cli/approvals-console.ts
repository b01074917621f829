/**
 * `cdk-agent-guardrails approvals console --url FUNCTION_URL [--region R] [--port N]`
 *
 * Serves the approval page on 127.0.0.1 and prints its URL with a secret token. The page's server
 * calls the approval handler with the approver's own AWS credentials, like `approvals approve`, so
 * the handler learns who decides from IAM. It runs until interrupted (Ctrl-C).
 */
import { OptionValues, parseCommandArgs, usageError } from './args';
import { approvalRegionOf, callApprovalHandler } from './approvals';
import { CliIo, CommandHandler, EXIT } from './command';
import { CONSOLE_HOST, startApprovalConsole } from './console/server';

const USAGE = `usage: cdk-agent-guardrails approvals console --url FUNCTION_URL [--region REGION] [--port N]
  --url         the approval gate's function URL (or CDK_AGENT_GUARDRAILS_APPROVAL_URL)
  --region      the function URL's region (default: read from the URL, else AWS_REGION)
  --port        the local port of the page (default: a random free port)
  --host        the bind address: only ${CONSOLE_HOST} is accepted (the page acts with your credentials)
  --help, -h    print this usage
Serves the approval page on http://${CONSOLE_HOST}:PORT/ and prints its URL with a secret token: open that
URL in your browser and keep it to yourself. Credentials come from the usual AWS chain (environment,
profile, SSO); they identify you as the approver. Stop the console with Ctrl-C.`;

const SPEC = {
  command: 'approvals console',
  usage: USAGE,
  options: {
    url: { type: 'string' },
    region: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
} as const;

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/** The handler URL, region and port, checked before anything is served. */
function settingsOf(values: OptionValues<typeof SPEC.options>) {
  const rawUrl = values.url ?? process.env.CDK_AGENT_GUARDRAILS_APPROVAL_URL;
  if (!rawUrl) {
    throw usageError(SPEC, "no --url given (the approval gate's function URL, an output of your stack)", {
      fix: 'pass --url FUNCTION_URL, or set CDK_AGENT_GUARDRAILS_APPROVAL_URL',
      withUsage: false,
    });
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw usageError(SPEC, `--url ${JSON.stringify(rawUrl)} is not a URL`, {
      received: rawUrl,
      fix: 'pass the function URL as your stack outputs it (https://<id>.lambda-url.<region>.on.aws/)',
      withUsage: false,
    });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.includes(url.hostname))) {
    throw usageError(SPEC, `refusing to send signed requests over ${url.protocol} to ${url.host}`, {
      received: rawUrl,
      fix: 'use the https function URL',
      withUsage: false,
    });
  }
  const region = approvalRegionOf(url, values.region);
  let port = 0;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535)) {
      throw usageError(SPEC, `--port ${JSON.stringify(values.port)} is not a TCP port`, {
        received: values.port,
        fix: 'pass --port N with 0 <= N <= 65535, or leave it out for a random free port',
        withUsage: false,
      });
    }
  }
  if (values.host !== undefined && values.host !== CONSOLE_HOST) {
    throw usageError(SPEC, `the approval console binds to ${CONSOLE_HOST} only, not ${JSON.stringify(values.host)}`, {
      received: values.host,
      fix:
        'leave out --host: the page acts with your own AWS credentials and must not be reachable from other machines; ' +
        "to approve from another machine, run the console there with that person's own credentials",
      withUsage: false,
    });
  }
  return { url, region, port };
}

/** Resolves on the first SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Serves the console until `until()` resolves. `run` waits for Ctrl-C; tests pass their own stop.
 * Prints the page URL (with its token) as the first line on stdout.
 */
export async function serveConsole(args: string[], io: CliIo, until: () => Promise<unknown>): Promise<number> {
  const parsed = parseCommandArgs(SPEC, args, io);
  if (!parsed) return EXIT.ok;
  const { url, region, port } = settingsOf(parsed.values);
  const console = await startApprovalConsole({
    port,
    handlerUrl: url.href,
    call: (method, path, body) => callApprovalHandler(url, region, method, path, body),
  });
  try {
    io.out(console.url);
    io.err(`approval console for ${url.href} on ${console.origin} (only this machine); open the URL above. Ctrl-C stops it.`);
    await until();
  } finally {
    await console.close();
  }
  return EXIT.ok;
}

/** `approvals console ...` (the arguments after `console`). */
export const run: CommandHandler = (args, io) => serveConsole(args, io, interrupted);
