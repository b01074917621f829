/**
 * Shared fixtures of the breaker tests: a real dynalite server on 127.0.0.1 with the breaker's
 * table, the local query-protocol endpoint for IAM/SNS/STS, and realistic CloudTrail events.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { BreakerConfig, WatchedAgentConfig } from '../../lib/circuit-breaker/runtime/breaker-config';
import { CloudTrailEvent } from '../../lib/circuit-breaker/runtime/processor';
import { LocalIamEndpoint } from '../support/local-iam-endpoint';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

export const credentials = { accessKeyId: 'AKIABREAKERLAMBDA', secretAccessKey: 'local' };
export const REGION = 'us-east-1';
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:breaker-alerts';

export interface LocalServers {
  readonly dynamodbUrl: string;
  readonly iam: LocalIamEndpoint;
  readonly clients: { dynamodb: DynamoDBClient; iam: IAMClient; sns: SNSClient };
  stop(): Promise<void>;
}

/** `maxItemSizeKb`: dynalite's item size limit (DynamoDB's 400 KB unless a test needs a full item sooner). */
export async function startServers(options: { maxItemSizeKb?: number } = {}): Promise<LocalServers> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dynamodbUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const iam = await LocalIamEndpoint.start();
  const clients = {
    dynamodb: new DynamoDBClient({ endpoint: dynamodbUrl, region: REGION, credentials, maxAttempts: 10 }),
    iam: new IAMClient({ endpoint: iam.url, region: REGION, credentials }),
    sns: new SNSClient({ endpoint: iam.url, region: REGION, credentials }),
  };
  return {
    dynamodbUrl,
    iam,
    clients,
    async stop() {
      clients.dynamodb.destroy();
      clients.iam.destroy();
      clients.sns.destroy();
      await iam.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let tableCounter = 0;
/** Creates a fresh breaker table (same key schema as the construct's) and returns its name. */
export async function createTable(dynamodb: DynamoDBClient): Promise<string> {
  const name = `breaker-${++tableCounter}-${Date.now()}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite, like DynamoDB, creates tables asynchronously.
  for (let i = 0; i < 100; i++) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return name;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${name} did not become active`);
}

/** Every item of an agent whose sort key starts with a prefix. */
export async function itemsOf(dynamodb: DynamoDBClient, tableName: string, agentName: string, prefix: string): Promise<Record<string, any>[]> {
  const result = await dynamodb.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
      ExpressionAttributeValues: { ':pk': { S: `agent#${agentName}` }, ':p': { S: prefix } },
      ConsistentRead: true,
    }),
  );
  return result.Items ?? [];
}

export function watched(iam: LocalIamEndpoint, agentName: string, overrides: Partial<WatchedAgentConfig> = {}): WatchedAgentConfig {
  const roleName = `${agentName}-role`;
  const roleArn = iam.addRole(roleName);
  return { agentName, roleArn, roleName, maxDestructiveCalls: 10, maxDeniedCalls: 20, maxWriteCalls: 0, windowSeconds: 300, ...overrides };
}

export function config(tableName: string, agents: WatchedAgentConfig[], monitorOnly = false): BreakerConfig {
  return { agents, tableName, topicArn: TOPIC_ARN, monitorOnly };
}

export interface SampleOptions {
  readonly roleArn: string;
  readonly eventSource?: string;
  readonly eventName?: string;
  readonly readOnly?: boolean;
  readonly errorCode?: string;
  readonly eventTime?: string;
  readonly sourceIdentity?: string;
  readonly type?: string;
}

let eventCounter = 0;
/**
 * A CloudTrail management event as EventBridge delivers it, shaped after real samples: an
 * assumed-role session whose sessionIssuer is the role, with source identity.
 */
export function cloudTrailEvent(o: SampleOptions): CloudTrailEvent & Record<string, any> {
  const roleName = o.roleArn.split('/').pop()!;
  const eventSource = o.eventSource ?? 'dynamodb.amazonaws.com';
  const eventTime = o.eventTime ?? '2026-11-24T10:01:00Z';
  const id = `evt-${++eventCounter}`;
  const event: Record<string, any> = {
    'version': '0',
    id,
    'detail-type': 'AWS API Call via CloudTrail',
    'source': `aws.${eventSource.split('.')[0]}`,
    'account': '123456789012',
    'time': eventTime,
    'region': 'us-east-1',
    'resources': [],
    'detail': {
      eventVersion: '1.09',
      userIdentity: {
        type: o.type ?? 'AssumedRole',
        principalId: `AROAEXAMPLE:${o.sourceIdentity ?? 'ops-assistant-run-42'}`,
        arn: `arn:aws:sts::123456789012:assumed-role/${roleName}/${o.sourceIdentity ?? 'ops-assistant-run-42'}`,
        accountId: '123456789012',
        accessKeyId: 'ASIAEXAMPLE',
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: o.roleArn, accountId: '123456789012', userName: roleName },
          attributes: { creationDate: '2026-11-24T09:55:00Z', mfaAuthenticated: 'false' },
          sourceIdentity: o.sourceIdentity ?? 'ops-assistant-run-42',
        },
      },
      eventTime,
      eventSource,
      eventName: o.eventName ?? 'DeleteTable',
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.15.0',
      ...(o.errorCode ? { errorCode: o.errorCode, errorMessage: `User is not authorized to perform ${o.eventName ?? 'DeleteTable'}` } : {}),
      requestParameters: { tableName: 'orders' },
      responseElements: null,
      requestID: `req-${id}`,
      // CloudTrail's event id: a lowercase UUID, as in every real event.
      eventID: randomUUID(),
      readOnly: o.readOnly ?? false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '123456789012',
      eventCategory: 'Management',
    },
  };
  return event as CloudTrailEvent & Record<string, any>;
}

export interface PausingProxy {
  readonly url: string;
  /** Before forwarding the first request whose form parameters match, runs `hook` to completion. */
  pauseBefore(matches: (params: Record<string, string>) => boolean, hook: () => Promise<void>): void;
  stop(): Promise<void>;
}

/**
 * A forwarding HTTP proxy on 127.0.0.1 in front of the local query-protocol endpoint. It lets a
 * test run something (a breaker event, say) exactly between a client's previous call and the
 * moment a given call lands, to interleave two writers deterministically.
 */
export async function startPausingProxy(targetUrl: string): Promise<PausingProxy> {
  const target = new URL(targetUrl);
  const pauses: { matches: (params: Record<string, string>) => boolean; hook: () => Promise<void> }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const params = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
      const index = pauses.findIndex((p) => p.matches(params));
      if (index >= 0) {
        const [pause] = pauses.splice(index, 1);
        await pause.hook();
      }
      const forwarded = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      forwarded.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pauseBefore(matches, hook) {
      pauses.push({ matches, hook });
    },
    async stop() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
