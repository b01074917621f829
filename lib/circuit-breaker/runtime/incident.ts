/**
 * What a trip and a reset do outside the table: the quarantine policy on the agent role (IAM) and
 * the alert (SNS). Shared by the Lambda handler and the `breaker` CLI.
 */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  PolicyDocumentJson,
  QUARANTINE_POLICY_NAME,
  credentialsQuarantineDocument,
  credentialsQuarantinePolicyName,
  quarantineDocument,
  revocationDocument,
} from './breaker-quarantine';

/** Puts the quarantine on the role: every session denied, those issued before the trip included. */
export async function writeQuarantine(iam: IAMClient, roleName: string, trippedAt: Date): Promise<void> {
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: QUARANTINE_POLICY_NAME,
      PolicyDocument: JSON.stringify(quarantineDocument(trippedAt)),
    }),
  );
}

/** The breaker's policy on the role as IAM has it now; undefined when the role has none. */
export async function readQuarantine(iam: IAMClient, roleName: string): Promise<PolicyDocumentJson | undefined> {
  try {
    const policy = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: QUARANTINE_POLICY_NAME }));
    // IAM returns policy documents URL-encoded.
    return JSON.parse(decodeURIComponent(policy.PolicyDocument ?? '')) as PolicyDocumentJson;
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchEntityException') return undefined;
    throw e;
  }
}

/** Lifts the quarantine; sessions issued before the reset stay revoked. */
export async function liftQuarantine(iam: IAMClient, roleName: string, resetAt: Date): Promise<void> {
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: QUARANTINE_POLICY_NAME,
      PolicyDocument: JSON.stringify(revocationDocument(resetAt)),
    }),
  );
}

/**
 * Puts the agent's quarantine on each approval gate credentials role: the sessions the agent
 * collected are denied every action. A put of the same document is idempotent, so a retry is safe.
 * Sequential, so that the error names the first role IAM refused.
 */
export async function writeCredentialsQuarantine(iam: IAMClient, credentialsRoleNames: readonly string[], agentRoleName: string): Promise<void> {
  for (const roleName of credentialsRoleNames) {
    try {
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: credentialsQuarantinePolicyName(agentRoleName),
          PolicyDocument: JSON.stringify(credentialsQuarantineDocument(agentRoleName)),
        }),
      );
    } catch (e) {
      throw withRole(e, `credentials role ${roleName}`);
    }
  }
}

/** Whether every credentials role still carries the agent's quarantine, as IAM has it now. */
export async function credentialsQuarantined(iam: IAMClient, credentialsRoleNames: readonly string[], agentRoleName: string): Promise<boolean> {
  const expected = JSON.stringify(credentialsQuarantineDocument(agentRoleName));
  for (const roleName of credentialsRoleNames) {
    try {
      const policy = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: credentialsQuarantinePolicyName(agentRoleName) }));
      if (JSON.stringify(JSON.parse(decodeURIComponent(policy.PolicyDocument ?? ''))) !== expected) return false;
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchEntityException') return false;
      throw e;
    }
  }
  return true;
}

/**
 * Removes the agent's quarantine from each credentials role. A policy already gone counts as
 * removed: a retried delete whose first attempt applied answers NoSuchEntity.
 */
export async function liftCredentialsQuarantine(iam: IAMClient, credentialsRoleNames: readonly string[], agentRoleName: string): Promise<void> {
  for (const roleName of credentialsRoleNames) {
    try {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: credentialsQuarantinePolicyName(agentRoleName) }));
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchEntityException') continue;
      throw withRole(e, `credentials role ${roleName}`);
    }
  }
}

/** The error with the role it concerns in its message; its name (what callers decide on) is kept. */
function withRole(e: unknown, what: string): Error {
  const error = e instanceof Error ? e : new Error(String(e));
  error.message = `${what}: ${error.message}`;
  return error;
}

export interface Alert {
  readonly subject: string;
  readonly agentName: string;
  readonly kind: string;
  readonly body: Record<string, unknown>;
}

export async function publishAlert(sns: SNSClient, topicArn: string, alert: Alert): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      // SNS subjects: at most 100 ASCII characters, no line breaks.
      Subject: alert.subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
      Message: JSON.stringify({ agent: alert.agentName, kind: alert.kind, ...alert.body }, null, 2),
      MessageAttributes: {
        agent: { DataType: 'String', StringValue: alert.agentName },
        kind: { DataType: 'String', StringValue: alert.kind },
      },
    }),
  );
}
