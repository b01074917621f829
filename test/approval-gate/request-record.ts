/**
 * A request record as the workflow's RecordRequest state writes it, for tests that start from a recorded
 * request (the handler, notices, rendering, the CLI and the approval page) instead of running the workflow.
 */
import { AttributeValue, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { PROD_DB } from './gate-fixture';

export interface RequestRecord {
  /** @default 'rds:DeleteDBInstance' */
  readonly operation?: string;
  /** @default PROD_DB */
  readonly resource?: string;
  /** The request's parameters, digested with the operation and resource. @default { DBInstanceIdentifier: 'orders' } */
  readonly parameters?: Record<string, unknown>;
  /** The canonical request as recorded, instead of the one built from the parameters. */
  readonly canonical?: string;
  /** @default 'PENDING' */
  readonly status?: string;
  /** @default 'replace orders' */
  readonly reason?: string;
  /** @default 'ops-assistant-1' */
  readonly sourceIdentity?: string;
  /** The roles (or sessions) granted to request, as the workflow records them. */
  readonly requesters: readonly string[];
  /** @default 1 */
  readonly requiredApprovals?: number;
  /** @default the execution of the gate's workflow named by the id */
  readonly executionArn?: string;
  /** @default now */
  readonly requestedAt?: string;
  /** Further attributes (a decision, a collection window, a token), as DynamoDB values. */
  readonly extra?: Record<string, AttributeValue>;
  /** Refuse to overwrite an existing record, as the workflow's conditional write does. @default false */
  readonly onlyIfAbsent?: boolean;
}

/** Writes the record of request `id` and returns its canonical request and digest. */
export async function putRequestRecord(
  dynamodb: DynamoDBClient,
  table: string,
  id: string,
  record: RequestRecord,
): Promise<{ canonical: string; digest: string }> {
  const operation = record.operation ?? 'rds:DeleteDBInstance';
  const resource = record.resource ?? PROD_DB;
  const canonical = record.canonical ?? canonicalRequest(operation, resource, record.parameters ?? { DBInstanceIdentifier: 'orders' });
  const digest = requestDigest(canonical);
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        requestId: { S: id },
        record: { S: 'REQUEST' },
        status: { S: record.status ?? 'PENDING' },
        operation: { S: operation },
        resource: { S: resource },
        canonical: { S: canonical },
        digest: { S: digest },
        reason: { S: record.reason ?? 'replace orders' },
        sourceIdentity: { S: record.sourceIdentity ?? 'ops-assistant-1' },
        requesters: { S: JSON.stringify(record.requesters) },
        requiredApprovals: { N: String(record.requiredApprovals ?? 1) },
        executionArn: { S: record.executionArn ?? `arn:aws:states:us-east-1:123456789012:execution:gate:${id}` },
        requestedAt: { S: record.requestedAt ?? new Date().toISOString() },
        ...record.extra,
      },
      ...(record.onlyIfAbsent ? { ConditionExpression: 'attribute_not_exists(requestId)' } : {}),
    }),
  );
  return { canonical, digest };
}
