import { Token } from 'aws-cdk-lib';
import { expandActionPattern, serviceActions, serviceExists, splitAction, supportsResourceLevelPermissions } from '../../shared/iam-data';
import { invalidProps } from '../../shared/errors';

function closest(candidates: readonly string[], wanted: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(candidate.toLowerCase(), wanted.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(wanted.length / 4)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** Checks that every action exists (or a pattern matches one); returns the expanded actions. */
function expandKnownActions(agentName: string, actions: readonly string[], method: string): string[] {
  if (actions.length === 0) {
    throw invalidProps(
      'AgentRole.InvalidProps',
      `AgentRole ${agentName}: ${method} was given no actions. List the actions the agent needs, such as "dynamodb:GetItem".`,
    );
  }
  const expanded: string[] = [];
  for (const action of actions) {
    if (Token.isUnresolved(action)) {
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: ${method} was given an action that is a token (${action}). Actions must be literal strings so they can be checked.`,
      );
    }
    const parts = splitAction(action);
    if (!parts) {
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: ${method} was given action ${JSON.stringify(action)}, which is not of the form "service:Action" (for example ` +
          `"s3:GetObject").`,
      );
    }
    if (!serviceExists(parts.service)) {
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: ${method} was given action ${JSON.stringify(action)}, but there is no AWS service with the prefix ` +
          `"${parts.service}". Check the service prefix in the Service Authorization Reference.`,
      );
    }
    const matched = expandActionPattern(action);
    if (matched.length === 0) {
      const suggestion = closest(
        Object.values(serviceActions(parts.service)).map((a) => a.name),
        parts.name,
      );
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: ${method} was given action ${JSON.stringify(action)}, which does not exist in ` +
          `${parts.service}.${suggestion ? ` Did you mean "${parts.service}:${suggestion}"?` : ''} Fix the spelling of the action.`,
      );
    }
    expanded.push(...matched);
  }
  return expanded;
}

function checkResources(agentName: string, resources: readonly string[], method: string): void {
  if (resources.length === 0) {
    throw invalidProps('AgentRole.InvalidProps', `AgentRole ${agentName}: ${method} was given no resources. List the ARNs the actions apply to.`);
  }
}

/** The least-privilege checks of AgentRole.allow(). */
export function validateAllow(agentName: string, actions: readonly string[], resources: readonly string[]): void {
  for (const action of actions) {
    if (action === '*') {
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: allow() was given action "*", which grants every action of every service. List the actions the agent needs; for a ` +
          `deliberate broad grant use allowBroad() with a justification.`,
      );
    }
    const parts = splitAction(action);
    if (parts && parts.name === '*') {
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: allow() was given action ${JSON.stringify(action)}, which grants every action of ${parts.service}. List the ` +
          `actions the agent needs (for example "${parts.service}:Get*" or exact names); for a deliberate broad grant use allowBroad() with a ` +
          `justification.`,
      );
    }
  }
  const expanded = expandKnownActions(agentName, actions, 'allow()');
  checkResources(agentName, resources, 'allow()');
  if (resources.includes('*')) {
    const scoped = [...new Set(expanded.filter((a) => supportsResourceLevelPermissions(a)))];
    if (scoped.length > 0) {
      const shown = scoped.slice(0, 5).join(', ') + (scoped.length > 5 ? ` and ${scoped.length - 5} more` : '');
      throw invalidProps(
        'AgentRole.InvalidProps',
        `AgentRole ${agentName}: allow() was given Resource "*" for ${shown}, which support${scoped.length === 1 ? 's' : ''} resource-level ` +
          `permissions. Name the resources' ARNs; keep "*" only for actions without resource types, or use allowBroad() with a justification.`,
      );
    }
  }
}

/** The checks of AgentRole.allowBroad(): the actions exist and the justification is written out. */
export function validateBroadGrant(agentName: string, actions: readonly string[], resources: readonly string[], justification: string): void {
  if (typeof justification !== 'string' || justification.trim().length < 20) {
    throw invalidProps(
      'AgentRole.InvalidProps',
      `AgentRole ${agentName}: allowBroad() needs a written justification of at least 20 characters, got ${JSON.stringify(justification)}. Say why ` +
        `the agent needs this breadth; it appears in reports.`,
    );
  }
  const literal = actions.filter((a) => a !== '*');
  if (literal.length > 0) {
    expandKnownActions(agentName, literal, 'allowBroad()');
  } else if (actions.length === 0) {
    throw invalidProps('AgentRole.InvalidProps', `AgentRole ${agentName}: allowBroad() was given no actions.`);
  }
  checkResources(agentName, resources, 'allowBroad()');
}
