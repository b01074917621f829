import { Duration, Token } from 'aws-cdk-lib';
import { KNOWN_BINDINGS, PSEUDO, ResourceBindingSpec, splitTemplate } from '../runtime/approval-binding';
import { invalidProps } from '../../shared/errors';
import { actionDetails, expandActionPattern, resourceTypeDetails, serviceExists, wildcardRegex } from '../../shared/iam-data';
import { ActionClass, isInClass } from '../../shared/action-classes';
import { CODE_EXECUTION_PATTERNS } from '../../shared/boundary-allow-list.generated';

/** The longest run of a standard Step Functions execution is one year; the wait must leave room to act. */
export const MAX_APPROVAL_TIMEOUT = Duration.days(364);
export const MIN_APPROVAL_TIMEOUT = Duration.minutes(1);
export const DEFAULT_APPROVAL_TIMEOUT = Duration.hours(4);

/** AWS SDK client names (used in `arn:aws:states:::aws-sdk:<client>:<api>`) that differ from the IAM prefix. */
const SDK_SERVICE_NAMES: Record<string, string> = {
  elasticfilesystem: 'efs',
  states: 'sfn',
  elasticloadbalancing: 'elasticloadbalancingv2',
  monitoring: 'cloudwatch',
  sso: 'ssoadmin',
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

export function validateOperation(
  service: string,
  action: string,
  resources: string[],
  sdkService?: string,
  bindingOptions: BindingOptions = {},
): ValidatedOperation {
  const what = `GatedOperation ${JSON.stringify(`${service}:${action}`)}`;
  if (typeof service !== 'string' || !/^[a-z0-9-]+$/.test(service) || !serviceExists(service)) {
    throw invalidProps(
      'GatedOperation.UnknownService',
      `${what}: service ${JSON.stringify(service)} is not an AWS service prefix in the IAM data. Use the IAM prefix, for example "rds" or ` +
        `"cloudformation".`,
      {
        received: JSON.stringify(service),
        fix: 'Use the IAM service prefix, for example "rds" or "cloudformation".',
      },
    );
  }
  if (typeof action !== 'string' || /[*?]/.test(action)) {
    throw invalidProps(
      'GatedOperation.WildcardAction',
      `${what}: wildcard actions cannot be gated; an approver approves one operation. Name one API action, for example "DeleteDBInstance".`,
      {
        received: JSON.stringify(action),
        fix: 'Name one API action, for example "DeleteDBInstance".',
      },
    );
  }
  const doubled = /^([A-Za-z0-9-]+):(.+)$/.exec(action);
  if (doubled) {
    const sameService = doubled[1].toLowerCase() === service.toLowerCase();
    throw invalidProps(
      'GatedOperation.ActionWithServicePrefix',
      `${what}: action ${JSON.stringify(action)} already carries a service prefix (${doubled[1]}:), so the gate would look up ` +
        `"${service}:${action}". ` +
        (sameService
          ? `Give action ${JSON.stringify(doubled[2])} with service ${JSON.stringify(service)}.`
          : 'Give the action without its prefix and the service it belongs to.'),
      {
        received: `service ${JSON.stringify(service)}, action ${JSON.stringify(action)}`,
        fix: sameService
          ? `GatedOperation.of({ service: '${service}', action: '${doubled[2]}', ... })`
          : `GatedOperation.of({ service: '${doubled[1].toLowerCase()}', action: '${doubled[2]}', ... })`,
      },
    );
  }
  const details = actionDetails(`${service}:${action}`);
  if (!details) {
    throw invalidProps(
      'GatedOperation.UnknownAction',
      `${what}: no such action in the IAM data for ${service}. Check the spelling against the service authorization reference (for example ` +
        `rds:DeleteDBInstance).`,
      {
        received: `${service}:${action}`,
        fix: 'Check the spelling against the service authorization reference, for example rds:DeleteDBInstance.',
      },
    );
  }
  if (details.resourceTypes.length === 0) {
    throw invalidProps(
      'GatedOperation.NoResourceLevelPermissions',
      `${what}: the action supports no resource-level permissions, so the executor could not be limited to the gated resources. Gate an action ` +
        `that names a resource.`,
      {
        received: `${service}:${action}`,
        fix: 'Gate an action that names a resource type in the IAM data.',
      },
    );
  }
  if (!Array.isArray(resources) || resources.length === 0) {
    throw invalidProps(
      'GatedOperation.NoResources',
      `${what}: no resources given. Name the ARNs (or ARN patterns) the operation may touch, for example the database's instanceArn.`,
      {
        received: JSON.stringify(resources),
        fix: "Name the ARNs (or ARN patterns) the operation may touch, for example the database's instanceArn.",
      },
    );
  }
  for (const resource of resources) {
    if (Token.isUnresolved(resource)) {
      continue;
    }
    if (typeof resource !== 'string' || !resource.startsWith('arn:') || resource.split(':').length < 6) {
      throw invalidProps(
        'GatedOperation.ResourceNotArn',
        `${what}: resource ${JSON.stringify(resource)} is not an ARN. Give ARNs such as arn:aws:rds:us-east-1:123456789012:db:orders; "*" is ` +
          `refused.`,
        {
          received: JSON.stringify(resource),
          fix: 'Give ARNs such as arn:aws:rds:us-east-1:123456789012:db:orders.',
        },
      );
    }
    if (resource.includes('?')) {
      throw invalidProps(
        'GatedOperation.ResourceQuestionMark',
        `${what}: resource ${JSON.stringify(resource)} contains "?", which the workflow cannot match. Use exact ARNs or "*" inside a name.`,
        {
          received: JSON.stringify(resource),
          fix: 'Use exact ARNs, or "*" inside a name.',
        },
      );
    }
    const resourcePart = resource.split(':').slice(5).join(':');
    // `db:*`, `table/*`, `*`: the type prefix followed by nothing but wildcards names every resource.
    if (/^[*/:]*$/.test(resourcePart.replace(/^[A-Za-z-]+[:/]/, ''))) {
      throw invalidProps(
        'GatedOperation.ResourceMatchesAll',
        `${what}: resource ${JSON.stringify(resource)} matches every resource of its type. Name the resources the operation may touch.`,
        {
          received: JSON.stringify(resource),
          fix: 'Name the resources the operation may touch.',
        },
      );
    }
  }
  const sdk = sdkService ?? SDK_SERVICE_NAMES[service] ?? service;
  if (!/^[a-z0-9]+$/.test(sdk)) {
    throw invalidProps(
      'GatedOperation.InvalidSdkService',
      `${what}: sdkService ${JSON.stringify(sdk)} is not an AWS SDK client name (lower-case letters and digits, for example "rds").`,
      {
        received: JSON.stringify(sdk),
        fix: 'Give the AWS SDK client name in lower-case letters and digits, for example "rds".',
      },
    );
  }
  const iamAction = `${service}:${details.name}`;
  return {
    iamAction,
    sdkService: sdk,
    sdkApi: details.name[0].toLowerCase() + details.name.slice(1),
    resources: [...resources],
    binding: validateBinding(what, iamAction, bindingOptions, bindingExample(service, details.resourceTypes[0]?.name)),
  };
}

/**
 * An example resourceArn for the action's own resource type, from the ARN format in the IAM data:
 * pseudo parameters as the gate writes them, the rest as `{Parameter}` placeholders to rename.
 */
function bindingExample(service: string, resourceType: string | undefined): string {
  const format = resourceType ? resourceTypeDetails(service, resourceType)?.arn : undefined;
  if (!format) return "for example resourceArn: 'arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:{DBInstanceIdentifier}'";
  const template = format
    .replace(/\$\{Partition\}/g, '${AWS::Partition}')
    .replace(/\$\{Region\}/g, '${AWS::Region}')
    .replace(/\$\{Account\}/g, '${AWS::AccountId}')
    .replace(/\$\{([A-Za-z0-9]+)\}/g, (_m, name: string) => `{${name}}`);
  return `for example resourceArn: '${template}' (rename each {placeholder} to the API parameter that holds it)`;
}

const CDK_TOKEN = /\$\{Token\[[^\]]+\]\}/g;

/**
 * The binding of the operation's parameters to its resource: the explicit one, or the known one.
 * Without a binding the approvers could be shown one resource while the executor acts on another,
 * so an operation without one is refused.
 */
function validateBinding(what: string, iamAction: string, options: BindingOptions, example: string): ResourceBindingSpec {
  if (options.resourceArn === undefined) {
    const known = KNOWN_BINDINGS[iamAction.toLowerCase()];
    if (!known) {
      throw invalidProps(
        'GatedOperation.NoKnownBinding',
        `${what}: no known binding from the request's parameters to the resource the operation acts on, so approvers could be shown one resource ` +
          `while another is acted on. Give resourceArn, the ARN built from the API's identifier parameter, ${example}.`,
        {
          received: iamAction,
          fix: `Give resourceArn, the ARN built from the API's identifier parameter, ${example}.`,
        },
      );
    }
    if (options.resourceParameterAcceptsArn !== undefined && options.resourceParameterAcceptsArn !== known.acceptsArn) {
      throw invalidProps(
        'GatedOperation.AcceptsArnWithoutResourceArn',
        `${what}: resourceParameterAcceptsArn was given without resourceArn. Give both, or neither to use the known binding ` +
          `${known.resourceArn}.`,
        {
          received: `resourceParameterAcceptsArn: ${options.resourceParameterAcceptsArn}`,
          fix: `Give both, or neither to use the known binding ${known.resourceArn}.`,
        },
      );
    }
    return known;
  }
  const template = options.resourceArn;
  if (typeof template !== 'string') {
    throw invalidProps('GatedOperation.ResourceArnNotString', `${what}: resourceArn must be a string, got ${JSON.stringify(template)}; ${example}.`, {
      received: JSON.stringify(template),
      fix: `Give resourceArn as a string, ${example}.`,
    });
  }
  const { parts, names } = splitTemplate(template);
  if (names.length === 0) {
    throw invalidProps(
      'GatedOperation.ResourceArnNoParameter',
      `${what}: resourceArn ${JSON.stringify(template)} names no parameter. Write the API's identifier parameter as {Name}; ${example}.`,
      {
        received: JSON.stringify(template),
        fix: `Write the API's identifier parameter as {Name}; ${example}.`,
      },
    );
  }
  const literal = parts.join('').split(PSEUDO.partition).join('').split(PSEUDO.region).join('').split(PSEUDO.account).join('').replace(CDK_TOKEN, '');
  if (/[{}'\\?]/.test(literal)) {
    throw invalidProps(
      'GatedOperation.ResourceArnInvalidCharacter',
      `${what}: resourceArn ${JSON.stringify(template)} contains a brace, quote, backslash or "?" outside its {Name} placeholders. Placeholders ` +
        `are {ParameterName}; pseudo parameters \${AWS::Partition}, \${AWS::Region}, \${AWS::AccountId}.`,
      {
        received: JSON.stringify(template),
        fix:
          'Write placeholders as {ParameterName} and pseudo parameters as ${AWS::Partition}, ${AWS::Region}, ${AWS::AccountId}; ' +
          'nothing else with braces, quotes, backslashes or "?".',
      },
    );
  }
  if (parts.slice(1, -1).some((p) => p === '')) {
    throw invalidProps(
      'GatedOperation.ResourceArnAdjacentPlaceholders',
      `${what}: resourceArn ${JSON.stringify(template)} has adjacent placeholders, so one ARN could come from different parameter values. ` +
        `Separate them.`,
      {
        received: JSON.stringify(template),
        fix: 'Separate the placeholders with the ARN\'s literal separators (":" or "/").',
      },
    );
  }
  const isWholeArnParameter = parts.length === 2 && parts[0] === '' && parts[1] === '';
  if (!isWholeArnParameter && !parts[0].startsWith('arn:') && !parts[0].startsWith('${Token[')) {
    throw invalidProps(
      'GatedOperation.ResourceArnNotArn',
      `${what}: resourceArn ${JSON.stringify(template)} is not an ARN template. Start it with "arn:", or give just "{ParameterName}" for a ` +
        `parameter that holds the ARN.`,
      {
        received: JSON.stringify(template),
        fix: 'Start it with "arn:", or give just "{ParameterName}" for a parameter that holds the ARN.',
      },
    );
  }
  const acceptsArn = options.resourceParameterAcceptsArn ?? false;
  if (acceptsArn && names.length !== 1) {
    throw invalidProps(
      'GatedOperation.AcceptsArnPlaceholders',
      `${what}: resourceParameterAcceptsArn needs exactly one placeholder in resourceArn, got ${names.length}.`,
      {
        received: JSON.stringify(template),
        fix: 'Use one {Name} placeholder in resourceArn, or leave resourceParameterAcceptsArn out.',
      },
    );
  }
  return { resourceArn: template, acceptsArn };
}

export function validateOperations(operations: readonly ValidatedOperation[], constructPath?: string): void {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidProps(
      'ApprovalGate.NoOperations',
      'ApprovalGate: no operations given. Name at least one with GatedOperation.of({ service, action, resources }).',
      {
        constructPath,
        received: JSON.stringify(operations),
        fix: 'Name at least one operation with GatedOperation.of({ service, action, resources }).',
      },
    );
  }
  const seen = new Set<string>();
  for (const op of operations) {
    if (seen.has(op.iamAction.toLowerCase())) {
      throw invalidProps(
        'ApprovalGate.DuplicateOperation',
        `ApprovalGate: operation ${op.iamAction} is given twice. Give it once with all its resources.`,
        {
          constructPath,
          received: op.iamAction,
          fix: 'Give each operation once, with all its resources.',
        },
      );
    }
    seen.add(op.iamAction.toLowerCase());
  }
}

export function validateApprovers(approverCount: number, requiredApprovals: number, constructPath?: string): void {
  if (approverCount === 0) {
    throw invalidProps(
      'ApprovalGate.NoApprovers',
      'ApprovalGate: no approvers given. Name the IAM roles or users of the people who decide, for example Approver.role(securityLeadRole).',
      {
        constructPath,
        received: '0 approvers',
        fix: 'Name the IAM roles or users of the people who decide, for example Approver.role(securityLeadRole).',
      },
    );
  }
  if (!Number.isInteger(requiredApprovals) || requiredApprovals < 1) {
    throw invalidProps(
      'ApprovalGate.InvalidRequiredApprovals',
      `ApprovalGate: requiredApprovals must be a whole number of at least 1, got ${requiredApprovals}.`,
      {
        constructPath,
        received: String(requiredApprovals),
        fix: 'Set requiredApprovals to a whole number from 1 to the number of approvers.',
      },
    );
  }
  if (requiredApprovals > approverCount) {
    throw invalidProps(
      'ApprovalGate.TooFewApprovers',
      `ApprovalGate: requiredApprovals is ${requiredApprovals} but only ${approverCount} approver(s) are named, so no request could ever be ` +
        `approved. Name more approvers or lower requiredApprovals.`,
      {
        constructPath,
        received: `requiredApprovals ${requiredApprovals}, ${approverCount} approver(s)`,
        fix: 'Name more approvers or lower requiredApprovals.',
      },
    );
  }
}

export function validateTimeout(timeout: Duration, constructPath?: string): number {
  if (Token.isUnresolved(timeout.toSeconds())) {
    throw invalidProps(
      'ApprovalGate.TimeoutNotLiteral',
      'ApprovalGate: timeout must be a literal duration; it bounds the wait of the workflow at synth time.',
      {
        constructPath,
        received: timeout.toString(),
        fix: 'Give a literal duration such as Duration.hours(4), not one from a parameter or another resource.',
      },
    );
  }
  const seconds = timeout.toSeconds();
  if (seconds < MIN_APPROVAL_TIMEOUT.toSeconds() || seconds > MAX_APPROVAL_TIMEOUT.toSeconds()) {
    throw invalidProps(
      'ApprovalGate.TimeoutOutOfRange',
      `ApprovalGate: timeout of ${seconds} seconds is out of range. Use 60 seconds to 364 days (${MAX_APPROVAL_TIMEOUT.toSeconds()} seconds): a ` +
        `standard Step Functions execution lasts at most one year and must still act after the approval.`,
      {
        constructPath,
        received: `${seconds} seconds`,
        fix: `Use 60 seconds to 364 days (${MAX_APPROVAL_TIMEOUT.toSeconds()} seconds).`,
      },
    );
  }
  return seconds;
}

/** Credentials mode: the issued session's lifetime. The collection function assumes the role (role chaining), which STS caps at 1 hour. */
export const DEFAULT_CREDENTIALS_DURATION = Duration.minutes(15);
export const MIN_CREDENTIALS_DURATION = Duration.minutes(15);
export const MAX_CREDENTIALS_DURATION = Duration.hours(1);
/** How long an approval stays usable (credentials mode: collectable). */
export const DEFAULT_APPROVAL_EXPIRY = Duration.hours(1);
export const MIN_APPROVAL_EXPIRY = Duration.minutes(1);
export const MAX_APPROVAL_EXPIRY = Duration.hours(12);

/** A literal duration within [min, max], in seconds; a clear error otherwise. */
export function validateDurationRange(prop: string, value: Duration, min: Duration, max: Duration, why: string, constructPath?: string): number {
  if (Token.isUnresolved(value.toSeconds())) {
    throw invalidProps(`ApprovalGate.${upperFirst(prop)}NotLiteral`, `ApprovalGate: ${prop} must be a literal duration; ${why}.`, {
      constructPath,
      received: value.toString(),
      fix: `Give a literal duration such as Duration.seconds(${min.toSeconds()}), not one from a parameter or another resource.`,
    });
  }
  const seconds = value.toSeconds();
  if (!Number.isInteger(seconds) || seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw invalidProps(
      `ApprovalGate.${upperFirst(prop)}OutOfRange`,
      `ApprovalGate: ${prop} of ${seconds} seconds is out of range: use ${min.toSeconds()} to ${max.toSeconds()} seconds (${why}).`,
      {
        constructPath,
        received: `${seconds} seconds`,
        fix: `Use a whole number of seconds from ${min.toSeconds()} to ${max.toSeconds()}.`,
      },
    );
  }
  return seconds;
}

const upperFirst = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * The further actions a credentials-mode session may call on the approved resource: each one a
 * literal action of the same service, known to the IAM data, that names a resource type (a session
 * policy scoped to the resource could never allow anything else).
 */
export function validateAdditionalActions(operation: ValidatedOperation, additional: readonly string[] | undefined, credentials: boolean): string[] {
  const what = `GatedOperation ${JSON.stringify(operation.iamAction)}`;
  if (additional === undefined || additional.length === 0) return [operation.iamAction];
  if (!credentials) {
    throw invalidProps(
      'GatedOperation.AdditionalActionsNeedCredentials',
      `${what}: additionalActions apply to ExecutionMode.CREDENTIALS only; the gate performs exactly one call in ExecutionMode.PERFORM.`,
      { received: JSON.stringify(additional), fix: 'Set mode: ExecutionMode.CREDENTIALS, or gate each call as its own operation.' },
    );
  }
  const service = operation.iamAction.split(':')[0];
  const actions = [operation.iamAction];
  for (const action of additional) {
    if (typeof action !== 'string' || /[*?]/.test(action)) {
      throw invalidProps('GatedOperation.WildcardAction', `${what}: additional action ${JSON.stringify(action)} is a wildcard; name each action.`, {
        received: JSON.stringify(action),
        fix: `Name each action, for example "${service}:Describe...".`,
      });
    }
    const name = action.includes(':') ? action : `${service}:${action}`;
    if (name.split(':')[0].toLowerCase() !== service) {
      throw invalidProps(
        'GatedOperation.AdditionalActionOtherService',
        `${what}: additional action ${JSON.stringify(action)} is not a ${service} action; the session acts on one ${service} resource.`,
        { received: JSON.stringify(action), fix: `Name ${service} actions only, or gate the other service's operation separately.` },
      );
    }
    const details = actionDetails(name);
    if (!details) {
      throw invalidProps('GatedOperation.UnknownAction', `${what}: additional action ${JSON.stringify(action)} is not in the IAM data.`, {
        received: JSON.stringify(action),
        fix: 'Check the spelling against the service authorization reference.',
      });
    }
    if (details.resourceTypes.length === 0) {
      throw invalidProps(
        'GatedOperation.NoResourceLevelPermissions',
        `${what}: additional action ${name} supports no resource-level permissions, so a session scoped to the approved resource could never ` +
          'call it.',
        { received: name, fix: 'Grant it to the agent directly (it names no resource), or leave it out.' },
      );
    }
    const canonical = `${service}:${details.name}`;
    if (!actions.includes(canonical)) actions.push(canonical);
  }
  return actions;
}

/**
 * Services never handed out as a session in credentials mode, beyond the generated code-execution
 * class: IAM, STS and Organizations widen or borrow identities; CloudFormation acts on a stack,
 * change set or stack set with the stack's stored service role (used without iam:PassRole, and
 * AdministratorAccess for CDK stacks), whatever template or parameters the session sends.
 */
const CREDENTIALS_REFUSED_SERVICES: Readonly<Record<string, string>> = Object.freeze({
  iam: 'IAM changes identities and permissions',
  sts: 'STS hands out other identities',
  organizations: 'Organizations changes accounts and their policies',
  cloudformation: "CloudFormation acts with the stack's stored service role (without iam:PassRole), with any template the session sends",
  sso: 'IAM Identity Center changes who can sign in with which permissions',
  identitystore: 'the identity store changes the users and groups IAM Identity Center grants',
  servicecatalog: "Service Catalog launches products with the portfolio's launch role",
});

/** Whether the action, or any action a pattern names, has the IAM access level "Permissions management". */
function writesPermissions(action: string): boolean {
  return expandActionPattern(action).some((a) => /permissions management/i.test(actionDetails(a)?.accessLevel ?? ''));
}

/**
 * Credentials mode hands the agent a session that may call the actions with any parameters for its
 * whole lifetime (review HIGH-2): an action that runs code as a stronger identity, acts with a stored
 * service role, or touches identities would turn one approved call into that identity's power.
 * Refused at synth with the way out: perform mode, where the gate makes exactly the approved call.
 */
export function refuseCredentialsEscalation(actions: readonly string[]): void {
  for (const action of actions) {
    const service = action.split(':')[0].toLowerCase();
    const why =
      isInClass(action, ActionClass.CODE_EXECUTION) || CODE_EXECUTION_PATTERNS.some((p) => wildcardRegex(p).test(action))
        ? 'it makes something that holds another role run what the caller chooses (code-execution class)'
        : (CREDENTIALS_REFUSED_SERVICES[service] ??
          // A resource policy or grant written by the session can name the session itself, and a resource-based grant to a
          // session is not limited by its session policy (review2 MEDIUM-A).
          (writesPermissions(action)
            ? 'it writes permissions (IAM access level "Permissions management": a resource policy or grant the session could give itself)'
            : undefined));
    if (why) {
      throw invalidProps(
        'GatedOperation.CredentialsModeEscalates',
        `GatedOperation ${JSON.stringify(actions[0])}: ${action} cannot be handed out in ExecutionMode.CREDENTIALS: ${why}. The issued ` +
          'session may call it with any parameters until it expires, so the approval would grant more than what was approved.',
        {
          received: action,
          fix: 'Use ExecutionMode.PERFORM (the default), where the gate makes exactly the approved call with the approved parameters once.',
        },
      );
    }
  }
}
