/**
 * Which approval gate can perform an action on a resource, and how the agent asks it: the gate's
 * id, the operation, the parameters that name the resource (derived from the gate's own binding,
 * so that the request passes the workflow's check), and how long approvers have.
 */
import { arnMatches, splitTemplate } from '../../approval-gate/runtime/approval-binding';
import { inertJson } from '../../shared/inert-text';
import { GateInfo, Knowledge } from './knowledge';

export interface GateRoute {
  readonly gate: string;
  readonly requestable: boolean;
  readonly operation: string;
  /** The request parameters that name this resource, when the binding tells them. */
  readonly parameters?: Record<string, string>;
  readonly timeoutSeconds?: number;
  readonly requiredApprovals?: number;
}

/** The parameters whose values, filled into the binding's ARN template, give exactly `arn`. */
export function parametersFor(template: string, arn: string): Record<string, string> | undefined {
  if (!template) return undefined;
  const { parts, names } = splitTemplate(template);
  if (names.length === 0) return undefined;
  const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  const match = new RegExp(`^${parts.map(escape).join('(.+?)')}$`).exec(arn);
  if (!match) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, match[i + 1]]));
}

/** Every gate operation that covers the action on the resource (any of its spellings). */
export function gateRoutes(k: Knowledge, action: string, arns: readonly string[]): GateRoute[] {
  const routes: GateRoute[] = [];
  for (const gate of k.gates) {
    for (const op of gate.operations) {
      if (op.operation.toLowerCase() !== action.toLowerCase()) continue;
      const arn = arns.find((a) => op.resources.some((p) => arnMatches(p, a)));
      if (arn === undefined) continue;
      routes.push({
        gate: gate.id,
        requestable: gate.requestable,
        operation: op.operation,
        parameters: parametersFor(op.resourceArn, arn),
        timeoutSeconds: gate.timeoutSeconds,
        requiredApprovals: gate.requiredApprovals,
      });
    }
  }
  // The gates this agent may use first.
  return routes.sort((a, b) => Number(b.requestable) - Number(a.requestable));
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return 'the gate\'s timeout';
  if (seconds % 86400 === 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  return `${seconds} seconds`;
}

function approvers(required = 1): string {
  return required === 1 ? 'one approver decides' : `${required} approvers must approve`;
}

/** How to ask, in one sentence; `quotedResource` is already inert. */
export function howToAsk(route: GateRoute, quotedResource: string): string {
  const params = route.parameters ? inertJson(route.parameters) : '{ ...the API parameters that name the resource... }';
  return `call request_approval with gate ${JSON.stringify(route.gate)}, operation ${JSON.stringify(route.operation)}, `
    + `resource ${quotedResource}, parameters ${params} and your reason; `
    + `${approvers(route.requiredApprovals)} within ${duration(route.timeoutSeconds)}, `
    + 'and the gate performs exactly that request if approved';
}

/** The gates this agent may request through. */
export function requestableGates(k: Knowledge): GateInfo[] {
  return k.gates.filter((g) => g.requestable);
}
