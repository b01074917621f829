/**
 * Which CloudTrail management events a circuit breaker counts, and how: the EventBridge pattern
 * (built at synth time) and the classification the handler applies to each matched event. No CDK
 * imports: the handler bundles this file.
 */
import { DESTRUCTIVE_CATALOG } from '../../shared/destructive-catalog.generated';

/** The detail type under which EventBridge delivers CloudTrail management events. */
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/**
 * Error codes CloudTrail records for a call that IAM (or a resource policy) refused. They differ by
 * service protocol: query services say AccessDenied, JSON services AccessDeniedException, EC2
 * (Client.)UnauthorizedOperation.
 */
export const DENIED_ERROR_CODES: readonly string[] = [
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'Client.UnauthorizedOperation',
  'Client.AccessDenied',
  'UnauthorizedAccess',
  'UnauthorizedException',
  'Unauthorized',
  'Forbidden',
  'ForbiddenException',
  'NotAuthorized',
  'AuthorizationError',
  'AuthorizationErrorException',
];

/**
 * The rule's event pattern: management events made by sessions of the watched roles that either
 * write (readOnly false) or were denied. `source` must start with `aws.`: EventBridge refuses
 * PutEvents with such a source, so nobody can forge these events to trip (or hide) an agent.
 */
export function breakerEventPattern(roleArns: readonly string[]): Record<string, unknown> {
  return {
    'source': [{ prefix: 'aws.' }],
    'detail-type': [CLOUDTRAIL_DETAIL_TYPE],
    'detail': {
      userIdentity: { sessionContext: { sessionIssuer: { arn: [...roleArns] } } },
      $or: [{ readOnly: [false] }, { errorCode: [...DENIED_ERROR_CODES] }],
    },
  };
}

/** How one matched event counts. */
export interface EventClassification {
  readonly write: boolean;
  readonly destructive: boolean;
  readonly denied: boolean;
  /** The IAM action the event stands for, as `service:Action`. */
  readonly action: string;
}

// CloudTrail event sources whose first label is not the IAM service prefix.
const SOURCE_TO_PREFIX: Record<string, string> = {
  monitoring: 'cloudwatch',
  email: 'ses',
  tagging: 'tag',
};

let catalogClasses: Map<string, string> | undefined;
function catalogClass(action: string): string | undefined {
  if (!catalogClasses) {
    catalogClasses = new Map(DESTRUCTIVE_CATALOG.map((e) => [e[0].toLowerCase(), e[1]]));
  }
  return catalogClasses.get(action.toLowerCase());
}

// For calls the catalog does not name (a new API, an event name that differs from its action).
const DESTRUCTIVE_VERBS = [
  'Delete', 'Terminate', 'Destroy', 'Purge', 'Drop', 'Remove', 'Disable', 'Deregister', 'Detach',
  'Revoke', 'Cancel', 'Reset', 'Stop', 'Release', 'Disassociate', 'Untag', 'Tag', 'ScheduleKeyDeletion',
];
const DESTRUCTIVE_VERB = new RegExp(`^(${DESTRUCTIVE_VERBS.join('|')})`);

/** The IAM action of a CloudTrail event: `monitoring.amazonaws.comDeleteAlarms` -> `cloudwatch:DeleteAlarms`. */
export function actionOfEvent(eventSource: string, eventName: string): string {
  const label = eventSource.split('.')[0];
  const prefix = SOURCE_TO_PREFIX[label] ?? label;
  // Lambda and CloudFront append an API version to some event names (DeleteFunction20150331).
  const name = eventName.replace(/\d{8}(v\d+)?$/, '');
  return `${prefix}:${name}`;
}

/**
 * Classifies a CloudTrail event: a write (readOnly false), a destructive call (in the destructive
 * catalog as a resource or tagging action, or named with a destructive verb when the catalog does
 * not know it: unknown counts against the agent), a denied call (any denied error code). A denied
 * destructive attempt counts as both.
 */
export function classifyEvent(detail: { eventSource?: string; eventName?: string; readOnly?: boolean; errorCode?: string }): EventClassification {
  const action = actionOfEvent(String(detail.eventSource ?? 'unknown'), String(detail.eventName ?? 'Unknown'));
  const name = action.split(':')[1];
  const known = catalogClass(action);
  const destructive = known !== undefined ? known === 'resource' || known === 'tagging' : DESTRUCTIVE_VERB.test(name);
  return {
    action,
    // A missing readOnly flag counts as a write: fail closed.
    write: detail.readOnly !== true,
    destructive,
    denied: detail.errorCode !== undefined && DENIED_ERROR_CODES.includes(detail.errorCode),
  };
}
