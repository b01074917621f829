import { CommandHandler, registerCommand } from './main';

// One line per command; each command module (lib/cli/<name>.ts) exports `run: CommandHandler`.
// Modules load only when their command runs.
/* eslint-disable @typescript-eslint/no-require-imports */
const load = (module: string) => () => (require(module) as { run: CommandHandler }).run;

registerCommand('verify', 'prove from a cloud assembly that no agent can destroy production', load('./verify'));
registerCommand('export-scp', 'render the production guard as a service control policy', load('./export-scp'));
registerCommand('approvals', 'list, show, approve or reject approval gate requests', load('./approvals'));
registerCommand('breaker', 'trip or reset the circuit breaker of an agent', load('./breaker'));
