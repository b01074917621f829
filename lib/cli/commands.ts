import { CommandHandler } from './command';

/** One line per command; each module (lib/cli/<name>.ts) exports `run`, loaded only when its command runs. */
/* eslint-disable @typescript-eslint/no-require-imports */
export const COMMANDS: Readonly<Record<string, { readonly summary: string; readonly load: () => CommandHandler }>> = Object.freeze({
  'verify': { summary: 'prove from a cloud assembly that no agent can destroy production', load: () => require('./verify').run },
  'export-scp': { summary: 'render the production guard as a service control policy', load: () => require('./export-scp').run },
  'export-org-policies': { summary: 'render the guard as SCPs and RCPs within a budget', load: () => require('./export-org-policies').run },
  'approvals': {
    summary: 'list, show, approve or reject approval gate requests, or serve the approval page (approvals console)',
    // The page is its own module (it uses the approvals client): loaded only when asked for, with its own options and usage.
    load: () => (args, io) => (args[0] === 'console' ? require('./approvals-console').run(args.slice(1), io) : require('./approvals').run(args, io)),
  },
  'breaker': { summary: 'trip or reset the circuit breaker of an agent', load: () => require('./breaker').run },
  'mcp': { summary: 'serve the guardrails to an agent over MCP (stdio): may I?, before it acts', load: () => require('./mcp').run },
});
