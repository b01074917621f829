import { Duration, Token } from 'aws-cdk-lib';
import { KNOWN_BINDINGS, PSEUDO, ResourceBindingSpec, splitTemplate } from '../runtime/approval-binding';
import { actionDetails, serviceExists } from '../../shared/iam-data';

/** The longest run of a standard Step Functions execution is one year; the wait must leave room to act. */
export const MAX_APPROVAL_TIMEOUT = Duration.days(364);
export const MIN_APPROVAL_TIMEOUT = Duration.minutes(1);
export const DEFAULT_APPROVAL_TIMEOUT = Duration.hours(4);

/** AWS SDK client names (used in `arn:aws:states:::aws-sdk:<client>:<api>`) that differ from the IAM prefix. */
const SDK_SERVICE_NAMES: Record<string, string> = {
  'elasticfilesystem': 'efs',
  'states': 'sfn',
  'elasticloadbalancing': 'elasticloadbalancingv2',
  'monitoring': 'cloudwatch',
  'sso': 'ssoadmin',
};

export interface ValidatedOperation {
  /** `service:Action` with the canonical case from the IAM data. */
  readonly iamAction: string;
  readonly sdkService: string;
  /** The SDK API name in camel case, as Step Functions expects it. */
  readonly sdkApi: string;
  readonly resources: string[];
  /** How the request's parameters name the resource (pseudo parameters still unresolved). */
  readonly binding: ResourceBindingSpec;
}

/** The explicit binding options of GatedOperation.of. */
export interface BindingOptions {
  readonly resourceArn?: string;
  readonly resourceParameterAcceptsArn?: boolean;
}

export function validateOperation(service: string, action: string, resources: string[], sdkService?: string, bindingOptions: BindingOptions = {}): ValidatedOperation {
  const what = `GatedOperation ${JSON.stringify(`${service}:${action}`)}`;
  if (typeof service !== 'string' || !/^[a-z0-9-]+$/.test(service) || !serviceExists(service)) {
    throw new Error(`${what}: service ${JSON.stringify(service)} is not an AWS service prefix in the IAM data. Use the IAM prefix, for example "rds" or "cloudformation".`);
  }
  if (typeof action !== 'string' || /[*?]/.test(action)) {
    throw new Error(`${what}: wildcard actions cannot be gated; an approver approves one operation. Name one API action, for example "DeleteDBInstance".`);
  }
  const details = actionDetails(`${service}:${action}`);
  if (!details) {
    throw new Error(`${what}: no such action in the IAM data for ${service}. Check the spelling against the service authorization reference (for example rds:DeleteDBInstance).`);
  }
  if (details.resourceTypes.length === 0) {
    throw new Error(`${what}: the action supports no resource-level permissions, so the executor could not be limited to the gated resources. Gate an action that names a resource.`);
  }
  if (!Array.isArray(resources) || resources.length === 0) {
    throw new Error(`${what}: no resources given. Name the ARNs (or ARN patterns) the operation may touch, for example the database's instanceArn.`);
  }
  for (const resource of resources) {
    if (Token.isUnresolved(resource)) {
      continue;
    }
    if (typeof resource !== 'string' || !resource.startsWith('arn:') || resource.split(':').length < 6) {
      throw new Error(`${what}: resource ${JSON.stringify(resource)} is not an ARN. Give ARNs such as arn:aws:rds:us-east-1:123456789012:db:orders; "*" is refused.`);
    }
    if (resource.includes('?')) {
      throw new Error(`${what}: resource ${JSON.stringify(resource)} contains "?", which the workflow cannot match. Use exact ARNs or "*" inside a name.`);
    }
    const resourcePart = resource.split(':').slice(5).join(':');
    // `db:*`, `table/*`, `*`: the type prefix followed by nothing but wildcards names every resource.
    if (/^[*/:]*$/.test(resourcePart.replace(/^[A-Za-z-]+[:/]/, ''))) {
      throw new Error(`${what}: resource ${JSON.stringify(resource)} matches every resource of its type. Name the resources the operation may touch.`);
    }
  }
  const sdk = sdkService ?? SDK_SERVICE_NAMES[service] ?? service;
  if (!/^[a-z0-9]+$/.test(sdk)) {
    throw new Error(`${what}: sdkService ${JSON.stringify(sdk)} is not an AWS SDK client name (lower-case letters and digits, for example "rds").`);
  }
  const iamAction = `${service}:${details.name}`;
  return {
    iamAction, sdkService: sdk, sdkApi: details.name[0].toLowerCase() + details.name.slice(1), resources: [...resources],
    binding: validateBinding(what, iamAction, bindingOptions),
  };
}

const CDK_TOKEN = /\$\{Token\[[^\]]+\]\}/g;

/**
 * The binding of the operation's parameters to its resource: the explicit one, or the known one.
 * Without a binding the approvers could be shown one resource while the executor acts on another,
 * so an operation without one is refused.
 */
function validateBinding(what: string, iamAction: string, options: BindingOptions): ResourceBindingSpec {
  const example = 'for example resourceArn: \'arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:{DBInstanceIdentifier}\'';
  if (options.resourceArn === undefined) {
    const known = KNOWN_BINDINGS[iamAction.toLowerCase()];
    if (!known) {
      throw new Error(`${what}: no known binding from the request's parameters to the resource the operation acts on, so approvers could be shown one resource while another is acted on. Give resourceArn, the ARN built from the API's identifier parameter, ${example}.`);
    }
    if (options.resourceParameterAcceptsArn !== undefined && options.resourceParameterAcceptsArn !== known.acceptsArn) {
      throw new Error(`${what}: resourceParameterAcceptsArn was given without resourceArn. Give both, or neither to use the known binding ${known.resourceArn}.`);
    }
    return known;
  }
  const template = options.resourceArn;
  if (typeof template !== 'string') {
    throw new Error(`${what}: resourceArn must be a string, got ${JSON.stringify(template)}; ${example}.`);
  }
  const { parts, names } = splitTemplate(template);
  if (names.length === 0) {
    throw new Error(`${what}: resourceArn ${JSON.stringify(template)} names no parameter. Write the API's identifier parameter as {Name}; ${example}.`);
  }
  const literal = parts.join('').split(PSEUDO.partition).join('').split(PSEUDO.region).join('').split(PSEUDO.account).join('').replace(CDK_TOKEN, '');
  if (/[{}'\\?]/.test(literal)) {
    throw new Error(`${what}: resourceArn ${JSON.stringify(template)} contains a brace, quote, backslash or "?" outside its {Name} placeholders. Placeholders are {ParameterName}; pseudo parameters \${AWS::Partition}, \${AWS::Region}, \${AWS::AccountId}.`);
  }
  if (parts.slice(1, -1).some((p) => p === '')) {
    throw new Error(`${what}: resourceArn ${JSON.stringify(template)} has adjacent placeholders, so one ARN could come from different parameter values. Separate them.`);
  }
  const isWholeArnParameter = parts.length === 2 && parts[0] === '' && parts[1] === '';
  if (!isWholeArnParameter && !parts[0].startsWith('arn:') && !parts[0].startsWith('${Token[')) {
    throw new Error(`${what}: resourceArn ${JSON.stringify(template)} is not an ARN template. Start it with "arn:", or give just "{ParameterName}" for a parameter that holds the ARN.`);
  }
  const acceptsArn = options.resourceParameterAcceptsArn ?? false;
  if (acceptsArn && names.length !== 1) {
    throw new Error(`${what}: resourceParameterAcceptsArn needs exactly one placeholder in resourceArn, got ${names.length}.`);
  }
  return { resourceArn: template, acceptsArn };
}

export function validateOperations(operations: readonly ValidatedOperation[]): void {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new Error('ApprovalGate: no operations given. Name at least one with GatedOperation.of({ service, action, resources }).');
  }
  const seen = new Set<string>();
  for (const op of operations) {
    if (seen.has(op.iamAction.toLowerCase())) {
      throw new Error(`ApprovalGate: operation ${op.iamAction} is given twice. Give it once with all its resources.`);
    }
    seen.add(op.iamAction.toLowerCase());
  }
}

export function validateApprovers(approverCount: number, requiredApprovals: number): void {
  if (approverCount === 0) {
    throw new Error('ApprovalGate: no approvers given. Name the IAM roles or users of the people who decide, for example Approver.role(securityLeadRole).');
  }
  if (!Number.isInteger(requiredApprovals) || requiredApprovals < 1) {
    throw new Error(`ApprovalGate: requiredApprovals must be a whole number of at least 1, got ${requiredApprovals}.`);
  }
  if (requiredApprovals > approverCount) {
    throw new Error(`ApprovalGate: requiredApprovals is ${requiredApprovals} but only ${approverCount} approver(s) are named, so no request could ever be approved. Name more approvers or lower requiredApprovals.`);
  }
}

export function validateTimeout(timeout: Duration): number {
  if (Token.isUnresolved(timeout.toSeconds())) {
    throw new Error('ApprovalGate: timeout must be a literal duration; it bounds the wait of the workflow at synth time.');
  }
  const seconds = timeout.toSeconds();
  if (seconds < MIN_APPROVAL_TIMEOUT.toSeconds() || seconds > MAX_APPROVAL_TIMEOUT.toSeconds()) {
    throw new Error(`ApprovalGate: timeout of ${seconds} seconds is out of range. Use 60 seconds to 364 days (${MAX_APPROVAL_TIMEOUT.toSeconds()} seconds): a standard Step Functions execution lasts at most one year and must still act after the approval.`);
  }
  return seconds;
}
