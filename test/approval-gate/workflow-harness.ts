/**
 * Executes the synthesized approval workflow with aws-local-stepfunctions. Each Task state is
 * overridden by a local handler that does what AWS would do with the state's effective input:
 * the DynamoDB states send their request to dynalite with the real SDK client, the wait state runs
 * the real notifier and then waits until the real approval handler sends the task token back
 * (through the local Step Functions endpoint), and the executor states record the exact API call
 * instead of calling AWS.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { StateMachine } from './local-stepfunctions';
import { createApprovalHandler, createNotifier, FunctionUrlEvent, GateTerms, HttpResult, ReconcileConfig } from '../../lib/approval-gate/runtime';
import { ApprovalLedger } from '../../lib/approval-gate/runtime/ledger';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { environmentOf, SynthesizedGate } from './gate-fixture';
import { LocalAws } from './local-aws';

export interface PerformedCall {
  readonly state: string;
  readonly parameters: unknown;
}

export interface RunningRequest {
  readonly requestId: string;
  /** Resolves once the request is recorded and the approvers were told (the task token is stored). */
  readonly waiting: Promise<void>;
  /** Resolves with the execution's output, or rejects with its error. */
  readonly result: Promise<unknown>;
}

/** Clients to use instead of the direct ones, e.g. through a fault proxy (SDK retries left on). */
export interface HarnessClients {
  /** What the workflow's DynamoDB tasks, the notifier and the approval handler send through. */
  readonly dynamodb?: DynamoDBClient;
  /** What the approval handler sends task tokens through. */
  readonly sfn?: SFNClient;
  /** How long the handler waits for the ledger after "task timed out" (short in tests). */
  readonly settle?: { attempts: number; intervalMs: number };
  /** Retry intervals of the workflow's Retry fields, in ms (the synthesized ones are seconds). */
  readonly retryIntervalMs?: number;
}

/**
 * A DynamoDB error as a Step Functions DynamoDB task raises it: `DynamoDB.<exception>`, which the
 * workflow's Retry and Catch match on.
 */
function taskError(e: unknown): Error {
  const error = new Error((e as Error).message);
  error.name = `DynamoDB.${(e as Error).name}`;
  return error;
}

/** The state machine the harness's executions belong to (their ids are `...:execution:gate:<request id>`). */
export const HARNESS_STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:gate';
const executionArnOf = (requestId: string) => `${HARNESS_STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${requestId}`;

export class WorkflowHarness {
  public readonly performed: PerformedCall[] = [];
  /** The gate's terms from the synthesized GATE_TERMS environment (how requests are carried out). */
  public readonly terms: GateTerms | undefined;
  public readonly ledger: ApprovalLedger;
  public readonly tableName: string;
  public readonly approvalHandler: (event: FunctionUrlEvent) => Promise<HttpResult>;
  private runs = 0;
  private readonly env: Record<string, string>;
  private readonly notifierOperations: any;
  /** Make the next executor call fail with this error (the AWS API refused). */
  public executorError?: Error;
  /** Awaited before a Task state of that name runs (a test holds the workflow at a point, e.g. before the collection window closes). */
  public readonly before: Record<string, (requestId: string) => Promise<void>> = {};
  /** Wait states' durations in ms (the synthesized ones are the real windows). */
  public readonly waitTimeOverrides: Record<string, number> = {};

  constructor(
    private readonly aws: LocalAws,
    private readonly gate: SynthesizedGate,
    private readonly definition: any = gate.definition,
    private readonly clients: HarnessClients = {},
  ) {
    this.tableName = definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName;
    this.ledger = new ApprovalLedger(clients.dynamodb ?? aws.dynamodb, this.tableName);
    // The handler is configured from the synthesized template's environment, as in Lambda.
    const env = environmentOf(gate.template, gate.ids.handler);
    if (env.LEDGER_TABLE !== this.tableName) throw new Error(`handler ledger ${env.LEDGER_TABLE} is not the workflow's ${this.tableName}`);
    this.env = env;
    this.terms = env.GATE_TERMS ? JSON.parse(env.GATE_TERMS) : undefined;
    this.approvalHandler = createApprovalHandler({
      terms: this.terms,
      ledger: this.ledger,
      sfn: clients.sfn ?? aws.sfn,
      settle: clients.settle ?? { attempts: 4, intervalMs: 100 },
      approvers: JSON.parse(env.APPROVERS),
      requiredApprovals: Number(env.REQUIRED_APPROVALS),
      operations: JSON.parse(env.OPERATIONS),
    });
    this.notifierOperations = JSON.parse(environmentOf(gate.template, gate.ids.notifier, ['OPERATIONS']).OPERATIONS);
  }

  /**
   * The reconciliation configuration of the real handler, from the synthesized environment. Only the
   * state machine is the harness's: its executions carry the harness's ids, not the deployed ARN.
   */
  public reconcileConfig(overrides: Partial<ReconcileConfig> = {}): ReconcileConfig {
    return {
      ledger: this.ledger,
      sfn: this.clients.sfn ?? this.aws.sfn,
      approvers: JSON.parse(this.env.APPROVERS),
      requiredApprovals: Number(this.env.REQUIRED_APPROVALS),
      operations: JSON.parse(this.env.OPERATIONS),
      terms: this.terms,
      stateMachineArn: HARNESS_STATE_MACHINE,
      announce: { sns: this.aws.sns, topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals', approvalUrl: '', terms: this.terms },
      minAgeMs: 0,
      ...overrides,
    };
  }

  /** Calls the approval handler as IAM would, with the authenticated caller in the request context. */
  public call(callerArn: string, method: string, path: string, body?: unknown): Promise<HttpResult> {
    return this.approvalHandler({
      rawPath: path,
      body: body === undefined ? undefined : JSON.stringify(body),
      requestContext: { http: { method }, authorizer: { iam: { userArn: callerArn } } },
    });
  }

  public start(input: unknown): RunningRequest {
    const n = ++this.runs;
    const requestId = `req-${n}-${Date.now()}`;
    const notifier = createNotifier({
      ledger: this.ledger,
      sns: this.aws.sns,
      topicArn: 'arn:aws:sns:us-east-1:123456789012:approvals',
      approvalUrl: 'https://example.lambda-url.us-east-1.on.aws/',
      operations: this.notifierOperations,
      terms: this.terms,
    });
    let waitingResolve!: () => void;
    let waitingReject!: (e: Error) => void;
    const waiting = new Promise<void>((resolve, reject) => {
      waitingResolve = resolve;
      waitingReject = reject;
    });
    const dynamo = async (input: any, command: 'put' | 'update' | 'get') => {
      const client = this.clients.dynamodb ?? this.aws.dynamodb;
      try {
        if (command === 'get') {
          const out = await client.send(new GetItemCommand(input));
          return { Item: out.Item };
        }
        await (command === 'put' ? client.send(new PutItemCommand(input)) : client.send(new UpdateItemCommand(input)));
      } catch (e) {
        throw taskError(e);
      }
      return {};
    };
    const overrides: Record<string, (input: any) => Promise<any>> = {
      [APPROVAL_STATES.recordRequest]: (i) => dynamo(i, 'put'),
      [APPROVAL_STATES.wait]: async (i) => {
        // lambda:invoke.waitForTaskToken: the function gets the Payload; the state waits for the token.
        const decision = new Promise((resolve, reject) => this.aws.waiters.set(i.Payload.taskToken, { resolve, reject }));
        try {
          await notifier(i.Payload);
        } catch (e) {
          this.aws.waiters.delete(i.Payload.taskToken);
          waitingReject(e as Error);
          throw e;
        }
        waitingResolve();
        return decision;
      },
    };
    for (const [name, state] of Object.entries<any>(this.definition.States)) {
      if (state.Type === 'Task' && typeof state.Resource === 'string' && state.Resource.includes(':::aws-sdk:')) {
        overrides[name] = async (parameters) => {
          this.performed.push({ state: name, parameters });
          if (this.executorError) throw this.executorError;
          return { performed: name };
        };
      } else if (state.Type === 'Task' && state.Resource?.endsWith(':::dynamodb:updateItem')) {
        overrides[name] = (i) => dynamo(i, 'update');
      } else if (state.Type === 'Task' && state.Resource?.endsWith(':::dynamodb:getItem')) {
        overrides[name] = (i) => dynamo(i, 'get');
      }
    }
    for (const [name, hook] of Object.entries(this.before)) {
      const run = overrides[name];
      if (run) {
        overrides[name] = async (i) => {
          await hook(requestId);
          return run(i);
        };
      }
    }
    const machine = new StateMachine(this.definition);
    const retryIntervalOverrides: Record<string, number> = {};
    if (this.clients.retryIntervalMs !== undefined) {
      for (const [name, state] of Object.entries<any>(this.definition.States)) {
        if (state.Retry) retryIntervalOverrides[name] = this.clients.retryIntervalMs;
      }
    }
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides, waitTimeOverrides: { ...this.waitTimeOverrides } },
      context: {
        Execution: {
          Id: executionArnOf(requestId),
          Name: requestId,
          StartTime: new Date().toISOString(),
          Input: input,
        },
        State: { EnteredTime: new Date().toISOString() },
        Task: { Token: `token-${requestId}` },
      },
    });
    const result = execution.result;
    // DescribeExecution (the local endpoint) answers with this run's real state: running, then how it ended.
    const executionArn = executionArnOf(requestId);
    this.aws.executions.set(executionArn, { stateMachineArn: HARNESS_STATE_MACHINE, status: 'RUNNING' });
    result.then(
      (output) =>
        this.aws.executions.set(executionArn, { stateMachineArn: HARNESS_STATE_MACHINE, status: 'SUCCEEDED', output: JSON.stringify(output) }),
      (e: any) => {
        const failure = e?.cause && typeof e.cause === 'object' ? e.cause : e;
        this.aws.executions.set(executionArn, {
          stateMachineArn: HARNESS_STATE_MACHINE,
          status: 'FAILED',
          error: failure?.name,
          cause: failure?.message,
        });
      },
    );
    // A run that fails before waiting must not leave `waiting` pending forever.
    result.then(
      () => waitingReject(new Error('finished without waiting')),
      (e) => waitingReject(e),
    );
    waiting.catch(() => undefined);
    return { requestId, waiting, result };
  }
}

/** The error name and cause a failed execution ended with. */
export async function failureOf(result: Promise<unknown>): Promise<{ error: string; cause: string }> {
  try {
    await result;
  } catch (e: any) {
    // aws-local-stepfunctions wraps the Fail state's error (name = Error, message = Cause).
    const failure = e.cause && typeof e.cause === 'object' ? e.cause : e;
    return { error: failure.name, cause: failure.message };
  }
  throw new Error('the execution succeeded');
}
