/**
 * Checks what a model sends before anything is evaluated. Every refusal is a GuardrailsError that
 * says what was wrong, the value received (inert) and the fix; the server turns it into a tool
 * error (`isError`), never a crash.
 */
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { actionDetails, serviceActions, serviceExists, serviceKeys, serviceResourceTypes, splitAction } from '../../shared/iam-data';
import { resourceTypesFor } from '../../verify/analysis/request-context';
import { hasUnsafeCharacters, inertQuoted } from '../../shared/inert-text';

const MAX_ARN = 2048;

export function badInput(code: string, message: string, received: unknown, fix: string): GuardrailsError {
  return new GuardrailsError(GuardrailsErrorKind.USAGE, message, { code: `Mcp.${code}`, received: inertQuoted(received), fix });
}

/** The text of a tool error: what was wrong, the value received, the fix. */
export function toolErrorText(error: unknown): string {
  if (GuardrailsError.isGuardrailsError(error)) {
    return [error.message, ...(error.received !== undefined ? [`received: ${error.received}`] : []), ...(error.fix ? [`fix: ${error.fix}`] : [])]
      .join('\n');
  }
  // Anything unexpected is reported without a stack trace, and the answer is "not allowed" by default.
  return `internal error: ${inertQuoted((error as Error)?.message ?? error, 500)}. No answer was given: treat the action as not allowed.`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** Up to three names close to `name`, nearest first. */
export function closest(name: string, candidates: Iterable<string>, maxDistance = 3): string[] {
  const lower = name.toLowerCase();
  return [...candidates]
    .map((c) => ({ c, d: editDistance(lower, c.toLowerCase()) }))
    .filter((x) => x.d <= maxDistance)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, 3)
    .map((x) => x.c);
}

/** `service:Action` as IAM spells it, or a refusal naming the nearest real actions. */
export function checkAction(raw: string): string {
  if (raw.length > 128 || hasUnsafeCharacters(raw) || !/^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$/.test(raw)) {
    throw badInput('BadAction', 'the action must be one IAM action, written service:Action', raw,
      'pass one action as IAM names it, for example dynamodb:DeleteTable or ec2:StopInstances');
  }
  if (/[*?]/.test(raw)) {
    throw badInput('WildcardAction', 'the action holds a wildcard: the guardrails decide one action at a time', raw,
      'ask about each action you intend to call, for example s3:DeleteObject rather than s3:Delete*');
  }
  const parts = splitAction(raw)!;
  if (!serviceExists(parts.service)) {
    const near = closest(parts.service, serviceKeys(), 2);
    throw badInput('UnknownService', `the service prefix ${inertQuoted(parts.service)} is not in the IAM service authorization data`, raw,
      near.length > 0 ? `did you mean ${near.map((s) => `${s}:${parts.name}`).join(', ')}?`
        : 'use the IAM service prefix (dynamodb, s3, ec2, rds, ...)');
  }
  const details = actionDetails(raw);
  if (!details) {
    const near = closest(parts.name, Object.values(serviceActions(parts.service)).map((a) => a.name));
    throw badInput('UnknownAction', `${inertQuoted(raw)} is not an action of ${parts.service} in the IAM service authorization data`, raw,
      near.length > 0 ? `did you mean ${near.map((n) => `${parts.service}:${n}`).join(', ')}?`
        : `use an action of ${parts.service} as IAM spells it (see the service authorization reference)`);
  }
  return `${parts.service}:${details.name}`;
}

/** The ARN formats of the resource types an action acts on. */
function formatsOf(action: string): string[] {
  const parts = splitAction(action)!;
  const types = serviceResourceTypes(parts.service);
  return (actionDetails(action)?.resourceTypes ?? [])
    .filter((t) => t.name !== '' && types[t.name.toLowerCase()] !== undefined)
    .map((t) => `${t.name}: ${types[t.name.toLowerCase()].arn}`);
}

/**
 * Whether a string is shaped as an ARN: six colon-separated segments, a partition and a service,
 * within a length, and without whitespace, controls or markup characters (no name of a resource
 * the guardrails evaluate needs them, and refusing them keeps every echo plain).
 */
export function isArnShaped(value: string): boolean {
  return value.length <= MAX_ARN && !hasUnsafeCharacters(value) && !/[\s<>`"\\{}]/.test(value)
    && /^arn:[a-z][a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws|)?:.+$/.test(value);
}

/** The resource an action is asked about: an ARN of a type the action acts on, or `*` for an action without one. */
export function checkResource(action: string, raw: string): string {
  const formats = formatsOf(action);
  if (raw === '*') {
    if (formats.length === 0) return raw;
    throw badInput('UnscopedResource', `${action} acts on named resources, so "*" says nothing about what you would touch`, raw,
      `pass the ARN of the resource you intend to act on (${formats.slice(0, 3).join('; ')})`);
  }
  if (!isArnShaped(raw)) {
    throw badInput('MalformedArn', 'the resource is not an ARN (arn:partition:service:region:account:resource, without spaces, '
      + 'control characters or markup)', raw,
      formats.length > 0 ? `pass the ARN of the resource, for ${action}: ${formats.slice(0, 3).join('; ')}`
        : `${action} acts on no resource type: pass "*"`);
  }
  if (formats.length === 0) {
    throw badInput('NoResourceType', `${action} acts on no resource type: IAM authorizes it on "*" only`, raw, 'pass "*" as the resource');
  }
  if (resourceTypesFor(action, raw).length === 0) {
    throw badInput('WrongResourceType', `the ARN is not of a resource type ${action} acts on`, raw,
      `pass an ARN of the form ${formats.slice(0, 4).join('; ')}`);
  }
  return raw;
}

/** A resource to describe: an ARN, or the id the policy resource lists (`Stack/Construct`). */
export function checkResourceRef(raw: string): string {
  if (raw.length === 0 || raw.length > MAX_ARN || hasUnsafeCharacters(raw) || /[\s<>`"\\{}]/.test(raw)) {
    throw badInput('BadResource', 'the resource must be an ARN or a resource id of this app, without spaces or control characters', raw,
      'pass an ARN (arn:aws:dynamodb:us-east-1:123456789012:table/orders) or an id listed by guardrails://policy (Shop/Orders)');
  }
  if (raw.startsWith('arn:') && !isArnShaped(raw)) {
    throw badInput('MalformedArn', 'the resource is not an ARN (arn:partition:service:region:account:resource)', raw,
      'pass the full ARN, with its partition, service, region, account and resource segments');
  }
  return raw;
}

/** A request id as the gate names executions. */
export function checkRequestId(raw: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(raw)) {
    throw badInput('BadRequestId', 'a request id is 1 to 80 letters, digits, - and _', raw, 'pass the requestId that request_approval returned');
  }
  return raw;
}
