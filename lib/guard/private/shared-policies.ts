import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { createHash } from 'crypto';

const CONTAINER_ID = 'AgentGuardrailsSharedPolicies';

/**
 * Construct ids already computed per stack, by the document's JSON as built. A token renders as a
 * unique `${Token[...]}` string, so equal JSON means equal resolved content: a hundred agents
 * resolve and hash each shared document once, not a hundred times.
 */
const idsByStack = new WeakMap<Stack, Map<string, string>>();

/**
 * One managed policy per distinct document per stack: a hundred agents with the same scope share
 * the guard's policies instead of a hundred copies (smaller templates, and far from the account's
 * quota of customer managed policies). `json` is the document's JSON where the caller keeps it.
 */
export function sharedManagedPolicy(scope: Construct, document: object, description: string, json = JSON.stringify(document)): iam.ManagedPolicy {
  const stack = Stack.of(scope);
  const container = (stack.node.tryFindChild(CONTAINER_ID) as Construct | undefined) ?? new Construct(stack, CONTAINER_ID);
  const ids = idsByStack.get(stack) ?? new Map<string, string>();
  idsByStack.set(stack, ids);
  let id = ids.get(json);
  if (id === undefined) {
    id = createHash('sha256')
      .update(JSON.stringify(stack.resolve(document)))
      .digest('hex')
      .slice(0, 16);
    ids.set(json, id);
  }
  const existing = container.node.tryFindChild(id) as iam.ManagedPolicy | undefined;
  return existing ?? new iam.ManagedPolicy(container, id, { description, document: iam.PolicyDocument.fromJson(document) });
}
