/**
 * Who a caller is, from the ARN IAM authenticated (a function URL with AWS_IAM auth puts it in
 * `requestContext.authorizer.iam.userArn`). A role's sessions all count as the role: anyone who may
 * assume a role can pick any session name, so two sessions of one role are one approver.
 */
import { parseSessionArn } from '../../shared/arns';

export interface CallerIdentity {
  /** `arn:<partition>:iam::<account>:role/<name>` or the user's ARN: what distinct approvers are counted by. */
  readonly principal: string;
  /** The session name of an assumed role, for the record. */
  readonly session?: string;
  readonly arn: string;
}

export function callerIdentity(userArn: string | undefined): CallerIdentity | undefined {
  if (typeof userArn !== 'string') return undefined;
  const assumed = parseSessionArn(userArn);
  if (assumed) {
    return { principal: `arn:${assumed.partition}:iam::${assumed.account}:role/${assumed.roleName}`, session: assumed.session, arn: userArn };
  }
  const user = /^arn:([a-z-]+):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(userArn);
  if (user) {
    return { principal: `arn:${user[1]}:iam::${user[2]}:user/${user[3]}`, arn: userArn };
  }
  // The account root, federated users and anything unknown are never approvers.
  return undefined;
}

/** Normalizes a configured role or user ARN (paths dropped: session ARNs carry none). */
export function principalOf(arn: string): string | undefined {
  const match = /^arn:([a-z-]+):iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
  return match ? `arn:${match[1]}:iam::${match[2]}:${match[3]}/${match[4]}` : undefined;
}
