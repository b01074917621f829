/**
 * The break-glass recorder of an ApprovalGate: EventBridge hands it the CloudTrail event of every
 * `sts:AssumeRole` into one of the gate's break-glass roles. It appends the use to the ledger (under
 * the request id `BREAK_GLASS`, one record per CloudTrail event id, so a redelivered event is recorded
 * once) and tells the approvers on the gate's topic. An alert whose publication failed is sent again
 * when the event is redelivered (the record notes when the alert went out).
 */
import { AttributeValue, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';

/** The ledger's request id under which break-glass uses are recorded. */
export const BREAK_GLASS_REQUEST_ID = 'BREAK_GLASS';

export interface BreakGlassConfig {
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  readonly sns: SNSClient;
  readonly topicArn: string;
}

/** The parts of a CloudTrail `AWS API Call via CloudTrail` event for sts:AssumeRole that are recorded. */
export interface AssumeRoleEvent {
  readonly 'detail-type'?: string;
  readonly 'detail'?: {
    readonly eventID?: string;
    readonly eventTime?: string;
    readonly eventName?: string;
    readonly sourceIPAddress?: string;
    readonly userIdentity?: { readonly arn?: string; readonly type?: string };
    readonly requestParameters?: { readonly roleArn?: string; readonly roleSessionName?: string; readonly sourceIdentity?: string };
    readonly errorCode?: string;
  };
}

const s = (v: string): AttributeValue => ({ S: v });
/** Agent- or caller-chosen text (session names) as one inert line: no control characters, bounded. */
const inert = (v: unknown, max = 200) =>
  String(v ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .slice(0, max);

export function createBreakGlassRecorder(config: BreakGlassConfig): (event: AssumeRoleEvent) => Promise<'recorded' | 'already-recorded'> {
  return async (event) => {
    const d = event.detail;
    if (!d || typeof d.eventID !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(d.eventID) || d.eventName !== 'AssumeRole') {
      // Fail loudly: EventBridge retries and then dead-letters it, which raises the gate's alarm.
      throw new Error(`break-glass: not a CloudTrail AssumeRole event (${inert(event['detail-type'])}); nothing recorded`);
    }
    const key = { requestId: s(BREAK_GLASS_REQUEST_ID), record: s(`EVENT#${inert(d.eventTime, 40)}#${d.eventID}`) };
    const fields = {
      event: 'BREAK_GLASS',
      eventId: d.eventID,
      at: inert(d.eventTime, 40),
      roleArn: inert(d.requestParameters?.roleArn),
      assumedBy: inert(d.userIdentity?.arn),
      sessionName: inert(d.requestParameters?.roleSessionName, 64),
      sourceIdentity: inert(d.requestParameters?.sourceIdentity, 64),
      sourceIp: inert(d.sourceIPAddress, 64),
      result: d.errorCode ? `refused: ${inert(d.errorCode, 64)}` : 'assumed',
    };
    let fresh = true;
    try {
      await config.dynamodb.send(
        new PutItemCommand({
          TableName: config.tableName,
          Item: { ...key, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, s(v)])) },
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
      );
    } catch (e) {
      if ((e as Error)?.name !== 'ConditionalCheckFailedException') throw e;
      // A redelivery, or our own retried write whose answer was lost: the record exists either way.
      fresh = false;
    }
    const recorded = await config.dynamodb.send(new GetItemCommand({ TableName: config.tableName, Key: key, ConsistentRead: true }));
    if (!recorded.Item?.alertedAt) {
      await config.sns.send(
        new PublishCommand({
          TopicArn: config.topicArn,
          Subject: 'Break glass: an emergency role was assumed',
          Message: [
            'An operator assumed a break-glass role of the approval gate: actions now bypass the approval workflow.',
            '',
            `Role:            ${fields.roleArn}`,
            `Assumed by:      ${fields.assumedBy}`,
            `Session name:    ${fields.sessionName}`,
            `Source identity: ${fields.sourceIdentity || '(none)'}`,
            `Source IP:       ${fields.sourceIp}`,
            `Result:          ${fields.result}`,
            `At:              ${fields.at} (CloudTrail event ${fields.eventId})`,
            '',
            `Recorded in the gate's ledger under request id ${BREAK_GLASS_REQUEST_ID}. Review what the session did in CloudTrail.`,
          ].join('\n'),
        }),
      );
      await config.dynamodb.send(
        new UpdateItemCommand({
          TableName: config.tableName,
          Key: key,
          UpdateExpression: 'SET alertedAt = if_not_exists(alertedAt, :t)',
          ExpressionAttributeValues: { ':t': s(new Date().toISOString()) },
        }),
      );
    }
    return fresh ? 'recorded' : 'already-recorded';
  };
}

let recorder: ((event: AssumeRoleEvent) => Promise<'recorded' | 'already-recorded'>) | undefined;

/** The Lambda entry point (EventBridge target), configured from the environment the construct sets. */
export async function handler(event: AssumeRoleEvent): Promise<string> {
  recorder ??= createBreakGlassRecorder({
    dynamodb: new DynamoDBClient({}),
    tableName: process.env.LEDGER_TABLE ?? '',
    sns: new SNSClient({}),
    topicArn: process.env.TOPIC_ARN ?? '',
  });
  return recorder(event);
}
