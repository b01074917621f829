/**
 * Local stand-ins for AWS on 127.0.0.1, spoken to by the real AWS SDK clients:
 * - DynamoDB: dynalite (a real DynamoDB-compatible server);
 * - Step Functions task tokens and SNS Publish: no local emulator exists, so a small HTTP endpoint
 *   speaks each service's wire protocol (awsJson1.0 for Step Functions, the query protocol for SNS).
 *   The task-token endpoint resolves or rejects the waiting Task state of a locally executed workflow.
 */
import { AddressInfo } from 'net';
import * as http from 'http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite');

const CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' } };

export interface Waiter {
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: Error) => void;
}

export interface LocalAws {
  readonly dynamodb: DynamoDBClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  /** Task tokens the workflow waits on. */
  readonly waiters: Map<string, Waiter>;
  /** Messages published to SNS. */
  readonly published: Array<{ TopicArn: string; Subject?: string; Message: string }>;
  /** The local servers, for a fault proxy to stand in front of. */
  readonly endpoints: { readonly dynamodb: string; readonly sfn: string; readonly sns: string };
  createLedger(tableName: string): Promise<void>;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An error as a Task state sees it: Catch matches on the name. */
export function stateError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

export { CLIENT as LOCAL_CLIENT };

export async function startLocalAws(): Promise<LocalAws> {
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoEndpoint = await listen(dynamoServer);

  const waiters = new Map<string, Waiter>();
  const sfnServer = http.createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await readBody(req)) || '{}');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(payload));
    };
    const waiter = waiters.get(body.taskToken);
    if (!waiter) return send(400, { __type: 'com.amazonaws.swf.service.v2.model#TaskTimedOut', message: 'Task Timed Out' });
    if (target === 'AWSStepFunctions.SendTaskSuccess') {
      waiters.delete(body.taskToken);
      waiter.resolve(JSON.parse(body.output));
      return send(200, {});
    }
    if (target === 'AWSStepFunctions.SendTaskFailure') {
      waiters.delete(body.taskToken);
      waiter.reject(stateError(body.error ?? 'States.TaskFailed', body.cause ?? ''));
      return send(200, {});
    }
    return send(400, { __type: 'UnknownOperationException', message: target });
  });
  const sfnEndpoint = await listen(sfnServer);

  const published: LocalAws['published'] = [];
  const snsServer = http.createServer(async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('Action') !== 'Publish') {
      res.writeHead(400, { 'content-type': 'text/xml' });
      return res.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>only Publish</Message></Error></ErrorResponse>');
    }
    published.push({ TopicArn: form.get('TopicArn') ?? '', Subject: form.get('Subject') ?? undefined, Message: form.get('Message') ?? '' });
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${published.length}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${published.length}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  });
  const snsEndpoint = await listen(snsServer);

  const dynamodb = new DynamoDBClient({ ...CLIENT, endpoint: dynamoEndpoint });
  return {
    dynamodb,
    sfn: new SFNClient({ ...CLIENT, endpoint: sfnEndpoint, maxAttempts: 1 }),
    sns: new SNSClient({ ...CLIENT, endpoint: snsEndpoint }),
    waiters,
    published,
    endpoints: { dynamodb: dynamoEndpoint, sfn: sfnEndpoint, sns: snsEndpoint },
    async createLedger(tableName: string) {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: tableName,
          KeySchema: [
            { AttributeName: 'requestId', KeyType: 'HASH' },
            { AttributeName: 'record', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: [
            { AttributeName: 'requestId', AttributeType: 'S' },
            { AttributeName: 'record', AttributeType: 'S' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    async close() {
      dynamodb.destroy();
      await Promise.all([dynamoServer, sfnServer, snsServer].map((s) => new Promise((r) => s.close(r))));
    },
  };
}
