/**
 * Local stand-ins for AWS on 127.0.0.1, spoken to by the real AWS SDK clients:
 * - DynamoDB: dynalite (a real DynamoDB-compatible server);
 * - Step Functions task tokens, DescribeExecution and SNS Publish: no local emulator exists, so a
 *   small HTTP endpoint speaks each service's wire protocol (awsJson1.0 for Step Functions, the
 *   query protocol for SNS). The task-token endpoint resolves or rejects the waiting Task state of a
 *   locally executed workflow; DescribeExecution answers from `executions`. Publish checks what SNS
 *   checks (Subject: ASCII without line breaks or controls, under 100 characters; MessageStructure
 *   json: a JSON object with a string `default`; 256 KiB) and refuses like SNS (InvalidParameter).
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

/** An execution as DescribeExecution reports it. */
export interface LocalExecution {
  readonly stateMachineArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
}

/** A published message; `Message` as sent (with MessageStructure json, the JSON of every protocol's form). */
export interface PublishedMessage {
  readonly TopicArn: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly MessageStructure?: string;
}

/** What an email subscriber and AWS Chatbot receive of a published message. */
export function formsOf(m: PublishedMessage): { email: string; chat: any } {
  if (m.MessageStructure !== 'json') return { email: m.Message, chat: undefined };
  const forms = JSON.parse(m.Message);
  return { email: forms.email ?? forms.default, chat: JSON.parse(forms.default) };
}

export interface LocalAws {
  readonly dynamodb: DynamoDBClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  /** Task tokens the workflow waits on. */
  readonly waiters: Map<string, Waiter>;
  /** Messages published to SNS. */
  readonly published: PublishedMessage[];
  /** Executions DescribeExecution knows, by ARN. */
  readonly executions: Map<string, LocalExecution>;
  /** Publish calls refused as SNS would refuse them (for assertions). */
  readonly refusedPublishes: string[];
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
  const executions = new Map<string, LocalExecution>();
  const sfnServer = http.createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse((await readBody(req)) || '{}');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(payload));
    };
    if (target === 'AWSStepFunctions.DescribeExecution') {
      const execution = executions.get(body.executionArn);
      if (!execution) return send(400, { __type: 'com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist', message: 'Execution Does Not Exist' });
      const name = String(body.executionArn).split(':').pop();
      return send(200, { executionArn: body.executionArn, name, startDate: Date.now() / 1000, ...execution });
    }
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
  const refusedPublishes: string[] = [];
  const snsServer = http.createServer(async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    const refuse = (code: string, message: string) => {
      refusedPublishes.push(message);
      res.writeHead(400, { 'content-type': 'text/xml' });
      return res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`);
    };
    if (form.get('Action') !== 'Publish') return refuse('InvalidAction', 'only Publish');
    const message = form.get('Message') ?? '';
    const subject = form.get('Subject') ?? undefined;
    const structure = form.get('MessageStructure') ?? undefined;
    if (subject !== undefined && (subject.length === 0 || subject.length >= 100 || /[^\x20-\x7e]/.test(subject))) {
      return refuse('InvalidParameter', 'Invalid parameter: Subject');
    }
    if (Buffer.byteLength(message, 'utf8') > 262_144) return refuse('InvalidParameter', 'Invalid parameter: Message too long');
    if (structure !== undefined) {
      let forms: any;
      try {
        forms = JSON.parse(message);
      } catch {
        return refuse('InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
      }
      if (structure !== 'json' || typeof forms !== 'object' || forms === null || typeof forms.default !== 'string') {
        return refuse('InvalidParameter', 'Invalid parameter: Message Structure - No default entry in JSON message body');
      }
    }
    published.push({ TopicArn: form.get('TopicArn') ?? '', Subject: subject, Message: message, MessageStructure: structure });
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
    executions,
    refusedPublishes,
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
