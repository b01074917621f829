/**
 * Credentials mode end to end, locally: the synthesized workflow on aws-local-stepfunctions (the
 * harness), the real approval handler and the real collection handler against dynalite, and a local
 * STS query-protocol endpoint spoken to by the real @aws-sdk/client-sts. The session policy STS
 * received is then evaluated by simulation together with the synthesized credentials role's policies.
 */
import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { STSClient } from '@aws-sdk/client-sts';
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');
import { AgentRole, GuardAgents } from '../../lib';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { ApprovalGate, Approver, ExecutionMode, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { APPROVAL_STATES } from '../../lib/approval-gate/private/approval-workflow';
import { canonicalRequest, requestDigest } from '../../lib/approval-gate/runtime/approval-digest';
import { requestIdPath, requestTagValue } from '../../lib/approval-gate/runtime/approval-binding';
import {
  CollectResult,
  createCollector,
  CredentialOperation,
  REQUEST_TAG,
  REQUESTER_TAG,
  requesterTagValue,
} from '../../lib/approval-gate/runtime/collect';
import { EffectivePolicies, effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { decideWithSession, LocalStsEndpoint } from '../support/local-sts-endpoint';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template } from '../support/template-resolver';
import { arnOf, environmentOf, PROD_DB, SynthesizedGate, sessionOf, synthGate } from './gate-fixture';
import { formsOf, LOCAL_CLIENT, LocalAws, startLocalAws } from './local-aws';
import { GateEvent, reconcileExecution, sweepGate } from '../../lib/approval-gate/runtime';
import { failureOf, HARNESS_STATE_MACHINE, WorkflowHarness } from './workflow-harness';
import { putRequestRecord } from './request-record';

const CLUSTER = `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders`;
const SIBLING = `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:orders-reporting`;
const FAILOVER = {
  operation: 'rds:FailoverDBCluster',
  resource: CLUSTER,
  parameters: { DBClusterIdentifier: 'orders', TargetDBInstanceIdentifier: 'orders-2' },
  reason: 'the writer in us-east-1a is degraded; fail over to orders-2',
  sourceIdentity: 'ops-assistant-7f3a',
};
const DIGEST = requestDigest(canonicalRequest(FAILOVER.operation, FAILOVER.resource, FAILOVER.parameters));
/** The access key id the collection handler signs with (its role's session in Lambda). */
const COLLECTOR_KEY = 'ASIACOLLECTOR';

let aws: LocalAws;
let sts: LocalStsEndpoint;
let gate: SynthesizedGate;
let ids: { collector: string; credentialsRole: string; collectorRole: string };
let credentialsRoleArn: string;
let credentialsPolicies: EffectivePolicies;
let env: Record<string, string>;

beforeAll(async () => {
  aws = await startLocalAws();
  sts = await LocalStsEndpoint.start();
  // GIVEN a gate that performs database deletions itself and lets the agent collect credentials for a cluster failover
  gate = synthGate({
    operations: [
      GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] }),
      GatedOperation.credentials({
        service: 'rds',
        action: 'FailoverDBCluster',
        resources: [CLUSTER, SIBLING],
        additionalActions: ['RebootDBCluster'],
      }),
    ],
  });
  ids = {
    collector: logicalIdOf(gate.template, 'AWS::Lambda::Function', 'GateCollector'),
    credentialsRole: logicalIdOf(gate.template, 'AWS::IAM::Role', 'GateCredentialsRole'),
    collectorRole: logicalIdOf(gate.template, 'AWS::IAM::Role', 'GateCollectorServiceRole'),
  };
  credentialsRoleArn = arnOf(gate.template, ids.credentialsRole);
  credentialsPolicies = effectivePolicies(gate.template, ids.credentialsRole);
  env = environmentOf(gate.template, ids.collector);
  sts.allow(credentialsRoleArn, COLLECTOR_KEY, 3600);
  await aws.createLedger(gate.definition.States[APPROVAL_STATES.recordRequest].Parameters.TableName);
});
afterAll(async () => {
  await sts.stop();
  await aws.close();
});

/** The real collection handler, configured from the synthesized environment, with the given clients. */
function collector(options: { dynamodb?: DynamoDBClient; stsEndpoint?: string; now?: () => Date } = {}) {
  const handler = createCollector({
    dynamodb: options.dynamodb ?? aws.dynamodb,
    tableName: env.LEDGER_TABLE,
    sts: new STSClient({
      region: REGION,
      endpoint: options.stsEndpoint ?? sts.url,
      credentials: { accessKeyId: COLLECTOR_KEY, secretAccessKey: 'x' },
    }),
    credentialsRoleArn: env.CREDENTIALS_ROLE_ARN,
    durationSeconds: Number(env.CREDENTIALS_DURATION_SECONDS),
    collectWithinSeconds: Number(env.COLLECT_WITHIN_SECONDS),
    operations: JSON.parse(env.CREDENTIAL_OPERATIONS) as CredentialOperation[],
    now: options.now,
  });
  return (callerArn: string, requestId: string, rawPath = `/requests/${requestIdPath(requestId)}/collect`): Promise<CollectResult> =>
    handler({ rawPath, requestContext: { http: { method: 'POST' }, authorizer: { iam: { userArn: callerArn } } } });
}

const AGENT_SESSION = () => sessionOf(gate.agentRoleArn, 'ops-assistant-7f3a');

interface Held {
  readonly harness: WorkflowHarness;
  readonly requestId: string;
  readonly result: Promise<unknown>;
  /** Closes the collection window (the workflow's Wait is over). */
  readonly close: () => void;
}

/** Requests the failover, approves it, and holds the workflow inside its collection window. */
async function approvedAndCollectable(request: unknown = FAILOVER): Promise<Held> {
  const harness = new WorkflowHarness(aws, gate);
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  let close!: () => void;
  const closed = new Promise<void>((r) => (close = r));
  harness.waitTimeOverrides[APPROVAL_STATES.awaitCollection] = 0;
  harness.before[APPROVAL_STATES.closeCollection] = async () => {
    opened();
    await closed;
  };
  const run = harness.start(request);
  await run.waiting;
  const approval = await harness.call(sessionOf(gate.approverRoleArn, 'alice'), 'POST', `/requests/${run.requestId}/approve`, { digest: DIGEST });
  expect(approval.statusCode).toBe(200);
  await Promise.race([open, run.result]);
  return { harness, requestId: run.requestId, result: run.result, close };
}

async function ledgerItem(requestId: string) {
  const out = await aws.dynamodb.send(
    new GetItemCommand({ TableName: env.LEDGER_TABLE, Key: { requestId: { S: requestId }, record: { S: 'REQUEST' } }, ConsistentRead: true }),
  );
  return out.Item ?? {};
}

const decideSession = (sessionPolicy: unknown, action: string, resource: string) =>
  decideWithSession(credentialsPolicies, sessionPolicy, action, resource);

describe('credentials mode, end to end', () => {
  test('the requesting agent collects once: the session allows the approved actions on the approved cluster and nothing else', async () => {
    const held = await approvedAndCollectable();
    // WHEN the requesting agent's session collects
    const issuedBefore = sts.issued.length;
    const reply = await collector()(AGENT_SESSION(), held.requestId);
    // THEN it receives credentials of the credentials role, with the request tied to the session
    expect(reply.statusCode).toBe(200);
    const body = JSON.parse(reply.body);
    expect(body.credentials.accessKeyId).toMatch(/^ASIA/);
    expect(sts.issued.length).toBe(issuedBefore + 1);
    const issued = sts.issued[sts.issued.length - 1];
    expect(issued.roleArn).toBe(credentialsRoleArn);
    expect(issued.durationSeconds).toBe(900);
    // the collecting agent's role is a principal tag of the session (a breaker revokes a tripped agent's sessions by it)
    expect(issued.tags).toEqual({ [REQUEST_TAG]: held.requestId, [REQUESTER_TAG]: gate.agentRoleArn.split('/').pop() });
    // a comma (allowed in role names, not in tag values) is written as _, the same way for the breaker that matches it
    expect(requesterTagValue('ops,agent')).toBe('ops_agent');
    expect(issued.sourceIdentity).toBe(`approval-${held.requestId}`);
    expect(body.credentials.accessKeyId).toBe(issued.accessKeyId);

    // and the session, evaluated by simulation, may fail over and reboot exactly the approved cluster
    await expect(decideSession(issued.policy, 'rds:FailoverDBCluster', CLUSTER)).resolves.toBe('Allowed');
    await expect(decideSession(issued.policy, 'rds:RebootDBCluster', CLUSTER)).resolves.toBe('Allowed');
    // the role alone would allow the sibling cluster (it holds the union of what the gate may grant); the session does not
    await expect(decide(credentialsPolicies, { action: 'rds:FailoverDBCluster', resource: SIBLING })).resolves.toBe('Allowed');
    await expect(decideSession(issued.policy, 'rds:FailoverDBCluster', SIBLING)).resolves.not.toBe('Allowed');
    for (const action of ['rds:DeleteDBCluster', 'rds:ModifyDBCluster', 'rds:StopDBCluster']) {
      await expect(decideSession(issued.policy, action, CLUSTER)).resolves.not.toBe('Allowed');
    }
    await expect(decideSession(issued.policy, 'rds:DeleteDBInstance', PROD_DB)).resolves.not.toBe('Allowed');

    // WHEN it collects a second time, THEN it is refused and STS is not asked again
    const second = await collector()(AGENT_SESSION(), held.requestId);
    expect(second.statusCode).toBe(409);
    expect(JSON.parse(second.body).error).toMatch(/already collected/);
    expect(sts.issued.length).toBe(issuedBefore + 1);

    // WHEN the window closes, THEN the workflow succeeds and the ledger records the issue
    held.close();
    await expect(held.result).resolves.toBeDefined();
    const item = await ledgerItem(held.requestId);
    expect(item.outcome?.S).toBe('CREDENTIALS_ISSUED');
    expect(item.collectedBy?.S).toBe(AGENT_SESSION());
    expect(held.harness.performed).toEqual([]);
  });

  test('fails when another agent collects: refused, recorded, nothing issued', async () => {
    const held = await approvedAndCollectable();
    const before = sts.issued.length;
    const otherAgent = `arn:aws:iam::${ACCOUNT}:role/other-agent`;
    for (const caller of [
      sessionOf(otherAgent, 'ops-assistant-7f3a'),
      sessionOf(gate.approverRoleArn, 'alice'),
      `arn:aws:iam::${ACCOUNT}:user/bob`,
    ]) {
      const reply = await collector()(caller, held.requestId);
      expect(reply.statusCode).toBe(403);
    }
    expect(sts.issued.length).toBe(before);
    // the requesting agent can still collect afterwards
    expect((await collector()(AGENT_SESSION(), held.requestId)).statusCode).toBe(200);
    held.close();
    await held.result;
  });

  test('fails when the ledger names more than one requester role: who asked is unknown, so nobody collects', async () => {
    // GIVEN an approved request whose record lists two roles (a gate shared before synth refused that for credentials mode)
    const held = await approvedAndCollectable();
    const before = sts.issued.length;
    await aws.dynamodb.send(
      new UpdateItemCommand({
        TableName: env.LEDGER_TABLE,
        Key: { requestId: { S: held.requestId }, record: { S: 'REQUEST' } },
        UpdateExpression: 'SET requesters = :two',
        ExpressionAttributeValues: { ':two': { S: JSON.stringify([gate.agentRoleArn, `arn:aws:iam::${ACCOUNT}:role/other-agent`]) } },
      }),
    );
    // WHEN even the first role collects THEN it is refused and nothing is issued
    expect((await collector()(AGENT_SESSION(), held.requestId)).statusCode).toBe(403);
    expect(sts.issued.length).toBe(before);
    // AND the request ends as an approval nobody collected
    held.close();
    await expect(held.result).rejects.toThrow(/did not collect the credentials within the window. Nothing was issued/);
  });

  test('fails when the approval expired: refused at collection, and the workflow closes it as EXPIRED', async () => {
    const held = await approvedAndCollectable();
    const before = sts.issued.length;
    const within = Number(env.COLLECT_WITHIN_SECONDS);
    expect(within).toBe(3600);
    // WHEN the agent collects after the window (the clock is the only thing moved)
    const late = await collector({ now: () => new Date(Date.now() + (within + 1) * 1000) })(AGENT_SESSION(), held.requestId);
    expect(late.statusCode).toBe(410);
    expect(JSON.parse(late.body).error).toMatch(/expired/);
    // WHEN the window closes uncollected
    held.close();
    const failure = await failureOf(held.result);
    expect(failure.error).toBe('Expired');
    expect((await ledgerItem(held.requestId)).outcome?.S).toBe('EXPIRED');
    // THEN a collection in time by the clock is refused too: the ledger says it is closed
    const after = await collector()(AGENT_SESSION(), held.requestId);
    expect(after.statusCode).toBe(409);
    expect(sts.issued.length).toBe(before);
  });

  test('fails when the request is not yet approved, or is an operation the gate performs itself', async () => {
    const harness = new WorkflowHarness(aws, gate);
    const pending = harness.start(FAILOVER);
    await pending.waiting;
    const before = sts.issued.length;
    expect((await collector()(AGENT_SESSION(), pending.requestId)).statusCode).toBe(409);
    await harness.call(sessionOf(gate.approverRoleArn, 'alice'), 'POST', `/requests/${pending.requestId}/reject`, { reason: 'not now' });
    await failureOf(pending.result);
    expect((await collector()(AGENT_SESSION(), pending.requestId)).statusCode).toBe(409);

    const deletion = {
      operation: 'rds:DeleteDBInstance',
      resource: PROD_DB,
      parameters: { DBInstanceIdentifier: 'orders', SkipFinalSnapshot: false, FinalDBSnapshotIdentifier: 'orders-final' },
      reason: 'replaced by orders-v2',
      sourceIdentity: 'ops-assistant-7f3a',
    };
    const performed = harness.start(deletion);
    await performed.waiting;
    const digest = requestDigest(canonicalRequest(deletion.operation, deletion.resource, deletion.parameters));
    await harness.call(sessionOf(gate.approverRoleArn, 'alice'), 'POST', `/requests/${performed.requestId}/approve`, { digest });
    await performed.result;
    const reply = await collector()(AGENT_SESSION(), performed.requestId);
    expect(reply.statusCode).toBe(409);
    expect(JSON.parse(reply.body).error).toMatch(/performed by the gate/);
    expect(sts.issued.length).toBe(before);
  });
});

describe('every execution name is collectable: the collector routes ids as the approval handler does', () => {
  test('an id outside [A-Za-z0-9_-] is collected through its encoded path; the raw one is refused with the fix', async () => {
    // GIVEN an approved, collectable request whose execution name holds dots, parentheses and ! (Step Functions allows them)
    const id = 'failover.orders(2nd-try)!';
    const now = new Date().toISOString();
    await putRequestRecord(aws.dynamodb, env.LEDGER_TABLE, id, {
      ...FAILOVER,
      status: 'APPROVED',
      requesters: [gate.agentRoleArn],
      executionArn: `${HARNESS_STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${id}`,
      requestedAt: now,
      extra: { approvals: { SS: [gate.approverRoleArn] }, acceptedAt: { S: now }, collectableAt: { S: now }, collectWithinSeconds: { N: '3600' } },
    });
    // WHEN the agent collects with the raw id in the path, THEN it is refused with the encoding to use
    const raw = await collector()(AGENT_SESSION(), id, `/requests/${id}/collect`);
    expect(raw.statusCode).toBe(400);
    expect(JSON.parse(raw.body)).toMatchObject({
      error: expect.stringMatching(/invalid request id in the path/),
      fix: expect.stringMatching(/base64url/),
    });
    // WHEN it collects through the encoded path, THEN it receives the session of exactly that request
    const encoded = await collector()(AGENT_SESSION(), id);
    expect(requestIdPath(id)).toMatch(/^~/);
    expect(encoded.statusCode).toBe(200);
    expect(JSON.parse(encoded.body)).toMatchObject({ requestId: id, resource: CLUSTER });
    // AND its session tag is a value STS accepts (the raw id holds ( ) !, which STS refuses) that names exactly this request
    expect(sts.issued[sts.issued.length - 1].tags).toMatchObject({ [REQUEST_TAG]: requestTagValue(id) });
    expect(requestTagValue(id)).toBe(`=${Buffer.from(id).toString('base64url')}`);
  });
});

describe('credentials mode reconciled: status events and the sweep leave the collection outcome as it is', () => {
  let logged: jest.SpyInstance;
  beforeEach(() => {
    logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => logged.mockRestore());

  const statusEvent = (requestId: string, status: string): GateEvent => ({
    'source': 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    'detail': {
      executionArn: `${HARNESS_STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${requestId}`,
      stateMachineArn: HARNESS_STATE_MACHINE,
      status,
      name: requestId,
    },
  });
  const outcomeNotices = (requestId: string) =>
    aws.published.filter(
      (m) => m.MessageStructure === 'json' && m.Message.includes(requestId) && formsOf(m).chat.metadata.eventType.startsWith('OUTCOME#'),
    );

  test('the handler is wired: it knows its workflow, may publish, and is told how requests are carried out', () => {
    const handlerEnv = environmentOf(gate.template, gate.ids.handler);
    expect(handlerEnv.STATE_MACHINE_ARN).toMatch(new RegExp(`^arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:approval-gate-[0-9a-f]+$`));
    expect(handlerEnv.TOPIC_ARN).toMatch(/^arn:aws:sns:/);
    expect(JSON.parse(handlerEnv.GATE_TERMS)).toEqual({
      timeoutSeconds: 14400,
      credentialsSeconds: 900,
      collectWithinSeconds: 3600,
      credentials: [{ operation: 'rds:FailoverDBCluster', actions: ['rds:FailoverDBCluster', 'rds:RebootDBCluster'] }],
    });
  });

  test('collected: while the window is open the request is no ghost; after SUCCEEDED it stays CREDENTIALS_ISSUED through redeliveries', async () => {
    // GIVEN an approved request held inside its collection window (the execution is RUNNING)
    const held = await approvedAndCollectable();
    const config = held.harness.reconcileConfig();
    // WHEN the sweep runs before anything was collected
    const early = await sweepGate(config);
    // THEN the request is left open: its execution is still running
    expect(early.reconciled.map((r) => r.requestId)).not.toContain(held.requestId);
    expect((await ledgerItem(held.requestId)).outcome).toBeUndefined();
    // AND approvers see the collection deadline and what approving handed out
    const shown = JSON.parse((await held.harness.call(sessionOf(gate.approverRoleArn, 'alice'), 'GET', `/requests/${held.requestId}`)).body);
    const collectableAt = (await ledgerItem(held.requestId)).collectableAt!.S!;
    expect(shown.request).toMatchObject({
      mode: 'CREDENTIALS',
      collectWithinSeconds: 3600,
      expiresAt: new Date(Date.parse(collectableAt) + 3_600_000).toISOString(),
      execution:
        `credentials mode: the agent receives a session allowed rds:FailoverDBCluster, rds:RebootDBCluster on ${CLUSTER} for 15 minutes; ` +
        'the parameters are its stated intent and are not enforced',
    });
    // WHEN the agent collects, the window closes and the execution SUCCEEDS
    expect((await collector()(AGENT_SESSION(), held.requestId)).statusCode).toBe(200);
    held.close();
    await held.result;
    // THEN the status event, its redelivery and two sweeps leave the collector's outcome as it is, told once
    const first = await reconcileExecution(config, statusEvent(held.requestId, 'SUCCEEDED'));
    expect(first).toEqual({ requestId: held.requestId, action: 'already-recorded', outcome: 'CREDENTIALS_ISSUED' });
    const before = await ledgerItem(held.requestId);
    await reconcileExecution(config, statusEvent(held.requestId, 'SUCCEEDED'));
    await sweepGate(config);
    await sweepGate(config);
    expect(await ledgerItem(held.requestId)).toEqual(before);
    expect(before.outcome?.S).toBe('CREDENTIALS_ISSUED');
    expect(before.collectedBy?.S).toBe(AGENT_SESSION());
    expect(outcomeNotices(held.requestId)).toHaveLength(1);
    const notice = formsOf(outcomeNotices(held.requestId)[0]);
    expect(notice.email).toContain('ended: CREDENTIALS_ISSUED, the approved credentials were issued to the requesting agent');
    expect(notice.chat.content.title).not.toMatch(/Performed/);
  });

  test('expired: after the window the execution fails Expired, and the ledger stays EXPIRED through redeliveries and sweeps', async () => {
    const held = await approvedAndCollectable();
    const config = held.harness.reconcileConfig();
    held.close();
    expect((await failureOf(held.result)).error).toBe('Expired');
    expect(await reconcileExecution(config, statusEvent(held.requestId, 'FAILED'))).toMatchObject({ action: 'already-recorded', outcome: 'EXPIRED' });
    const before = await ledgerItem(held.requestId);
    await reconcileExecution(config, statusEvent(held.requestId, 'FAILED'));
    await sweepGate(config);
    expect(await ledgerItem(held.requestId)).toEqual(before);
    expect(before.outcome?.S).toBe('EXPIRED');
    expect(outcomeNotices(held.requestId)).toHaveLength(1);
  });

  test('fails when a lost collection outcome is blamed on the executor: left open while in flight, then the credentials role is named', async () => {
    // GIVEN a collection recorded by the collector, which then stopped before STS answered (no outcome written)
    const held = await approvedAndCollectable();
    const config = held.harness.reconcileConfig();
    const collect = async (at: Date) =>
      aws.dynamodb.send(
        new UpdateItemCommand({
          TableName: env.LEDGER_TABLE,
          Key: { requestId: { S: held.requestId }, record: { S: 'REQUEST' } },
          UpdateExpression: 'SET collectedAt = :t, collectedBy = :by',
          ExpressionAttributeValues: { ':t': { S: at.toISOString() }, ':by': { S: AGENT_SESSION() } },
        }),
      );
    await collect(new Date());
    // WHEN the window closes: the workflow finds a collection without an outcome and fails CollectionClosed
    held.close();
    expect((await failureOf(held.result)).error).toBe('CollectionClosed');
    // THEN a status event right away leaves it open: the collector may still be recording its outcome
    expect(await reconcileExecution(config, statusEvent(held.requestId, 'FAILED'))).toMatchObject({ action: 'running' });
    expect((await ledgerItem(held.requestId)).outcome).toBeUndefined();
    // WHEN the collection is older than a collector can take, THEN the sweep records OUTCOME_UNKNOWN naming the credentials role
    await collect(new Date(Date.now() - 300_000));
    const swept = await sweepGate(config);
    expect(swept.reconciled).toContainEqual({ requestId: held.requestId, action: 'recorded', outcome: 'OUTCOME_UNKNOWN' });
    const item = await ledgerItem(held.requestId);
    expect(item.outcomeDetail?.S).toMatch(
      /^check CloudTrail for sessions of the gate's credentials role tagged guardrails:approval-request=\S+: collected by .* credentials were probably issued/,
    );
    expect(item.outcomeDetail?.S).toContain(`guardrails:approval-request=${requestTagValue(held.requestId)}:`);
    const notice = formsOf(outcomeNotices(held.requestId)[0]).email;
    // AND the tag to search for survives the notice's cut of long details (it comes first)
    expect(notice).toContain(`guardrails:approval-request=${requestTagValue(held.requestId)}`);
    expect(notice).toContain("whether credentials were issued is not known: check CloudTrail for sessions of the gate's credentials role");
    expect(notice).not.toMatch(/executor/);
    // AND a redelivered event changes nothing
    await reconcileExecution(config, statusEvent(held.requestId, 'FAILED'));
    expect(await ledgerItem(held.requestId)).toEqual(item);
  });

  test('fails when a reconciled "nothing was issued" outcome wins over a collection recorded meanwhile', async () => {
    // GIVEN an approved request whose collection is recorded after the reconciler read it
    const held = await approvedAndCollectable();
    expect((await collector()(AGENT_SESSION(), held.requestId)).statusCode).toBe(200);
    const ledger = held.harness.ledger;
    // WHEN a reconciler with the stale view writes EXPIRED under the not-collected condition
    const written = await ledger.recordReconciledOutcome(held.requestId, 'EXPIRED', 'stale', 'token-stale', false, true);
    // THEN its write does not apply: the collection's outcome stands
    expect(written.ours).toBe(false);
    expect(written.request?.outcome).toBe('CREDENTIALS_ISSUED');
    held.close();
    await held.result;
  });
});

describe('credentials mode under faults (fault proxy, SDK retries on)', () => {
  let dynamoProxy: FaultProxy;
  let stsProxy: FaultProxy;
  let dynamodb: DynamoDBClient;
  beforeAll(async () => {
    dynamoProxy = await startFaultProxy(aws.endpoints.dynamodb);
    stsProxy = await startFaultProxy(sts.url);
    dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint: dynamoProxy.endpoint });
  });
  afterEach(() => {
    dynamoProxy.rule = undefined;
    stsProxy.rule = undefined;
  });
  afterAll(async () => {
    dynamodb.destroy();
    await Promise.all([dynamoProxy.close(), stsProxy.close()]);
  });

  test('a collection write whose answer was lost counts as ours: issued once, and the second collection is refused', async () => {
    const held = await approvedAndCollectable();
    let dropped = 0;
    dynamoProxy.rule = (r) =>
      r.operation.endsWith('UpdateItem') && r.body.includes('collectToken') && dropped++ === 0 ? { kind: 'drop-response' } : undefined;
    const before = sts.issued.length;
    const reply = await collector({ dynamodb })(AGENT_SESSION(), held.requestId);
    expect(dynamoProxy.injected).toEqual(expect.arrayContaining([{ operation: 'DynamoDB_20120810.UpdateItem', fault: 'drop-response' }]));
    expect(reply.statusCode).toBe(200);
    expect(sts.issued.length).toBe(before + 1);
    expect((await collector({ dynamodb })(AGENT_SESSION(), held.requestId)).statusCode).toBe(409);
    expect(sts.issued.length).toBe(before + 1);
    held.close();
    await held.result;
  });

  test('concurrent collections by the agent, with throttling and 5xx: exactly one is issued', async () => {
    const held = await approvedAndCollectable();
    let n = 0;
    dynamoProxy.rule = () => (n++ % 3 === 0 ? { kind: n % 2 === 0 ? 'throttle' : '5xx' } : undefined);
    const before = sts.issued.length;
    const replies = await Promise.all(
      Array.from({ length: 6 }, () =>
        collector({ dynamodb })(AGENT_SESSION(), held.requestId).catch((e: Error) => ({ statusCode: 0, body: e.name })),
      ),
    );
    const ok = replies.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(1);
    expect(sts.issued.length).toBe(before + 1);
    held.close();
    await held.result;
  });

  test('a DynamoDB outage during collection issues nothing; a later collection succeeds once', async () => {
    const held = await approvedAndCollectable();
    dynamoProxy.rule = (r) => (r.operation.endsWith('UpdateItem') ? { kind: 'outage' } : undefined);
    const before = sts.issued.length;
    await expect(collector({ dynamodb })(AGENT_SESSION(), held.requestId)).rejects.toThrow();
    expect(sts.issued.length).toBe(before);
    expect((await ledgerItem(held.requestId)).collectedAt).toBeUndefined();
    dynamoProxy.rule = undefined;
    expect((await collector({ dynamodb })(AGENT_SESSION(), held.requestId)).statusCode).toBe(200);
    expect(sts.issued.length).toBe(before + 1);
    held.close();
    await held.result;
  });

  test('an STS answer lost after issuing: the agent gets one set of credentials; the approval is not collectable again', async () => {
    const held = await approvedAndCollectable();
    let dropped = 0;
    stsProxy.rule = (r) => (r.operation === 'AssumeRole' && dropped++ === 0 ? { kind: 'drop-response' } : undefined);
    const before = sts.issued.length;
    const reply = await collector({ stsEndpoint: stsProxy.endpoint })(AGENT_SESSION(), held.requestId);
    expect(reply.statusCode).toBe(200);
    // STS minted a session for the lost answer too; its keys never left STS. The agent holds exactly the one it was given.
    const minted = sts.issued.slice(before);
    expect(minted.map((s) => s.sessionName)).toEqual([`approval-${held.requestId}`, `approval-${held.requestId}`]);
    expect(JSON.parse(reply.body).credentials.accessKeyId).toBe(minted[minted.length - 1].accessKeyId);
    expect((await collector({ stsEndpoint: stsProxy.endpoint })(AGENT_SESSION(), held.requestId)).statusCode).toBe(409);
    expect(sts.issued.length).toBe(before + 2);
    held.close();
    await held.result;
  });

  test('an STS failure after the collection was recorded: nothing issued, recorded as ISSUE_FAILED, never retried into a second', async () => {
    const held = await approvedAndCollectable();
    stsProxy.rule = (r) => (r.operation === 'AssumeRole' ? { kind: '5xx' } : undefined);
    const before = sts.issued.length;
    const reply = await collector({ stsEndpoint: stsProxy.endpoint })(AGENT_SESSION(), held.requestId);
    expect(reply.statusCode).toBe(502);
    expect(sts.issued.length).toBe(before);
    expect((await ledgerItem(held.requestId)).outcome?.S).toBe('ISSUE_FAILED');
    stsProxy.rule = undefined;
    expect((await collector({ stsEndpoint: stsProxy.endpoint })(AGENT_SESSION(), held.requestId)).statusCode).toBe(409);
    expect(sts.issued.length).toBe(before);
    held.close();
    expect((await failureOf(held.result)).error).toBe('CollectionClosed');
  });
});

describe('the credentials role and the collection handler (synthesized policies, simulated)', () => {
  let admin: SynthesizedGate;
  beforeAll(() => {
    admin = synthGate(
      { operations: [GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER, SIBLING] })] },
      { admin: true },
    );
  });

  test('is trusted only by the collection handler role, and grants nothing on "*"', () => {
    const trust = credentialsPolicies.trustPolicy.Statement;
    const collectorRoleArn = arnOf(gate.template, ids.collectorRole);
    expect(trust.map((s: any) => s.Principal)).toEqual(trust.map(() => ({ AWS: collectorRoleArn })));
    expect(trust.flatMap((s: any) => [s.Action].flat()).sort()).toEqual(['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession']);
    const statements = credentialsPolicies.identityPolicies.flatMap((p) => p.policy.Statement);
    expect(statements.flatMap((s: any) => [s.Resource].flat())).not.toContain('*');
    expect(statements.flatMap((s: any) => [s.Action].flat()).sort()).toEqual(['rds:FailoverDBCluster', 'rds:RebootDBCluster']);
    const role = gate.template.Resources[ids.credentialsRole];
    expect(role.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'guardrails:component', Value: 'approval-gate' }]));
  });

  test('fails when the agent assumes or passes the credentials role, even with AdministratorAccess', async () => {
    const roleArn = arnOf(admin.template, logicalIdOf(admin.template, 'AWS::IAM::Role', 'GateCredentialsRole'));
    const trustPolicy = effectivePolicies(admin.template, logicalIdOf(admin.template, 'AWS::IAM::Role', 'GateCredentialsRole')).trustPolicy;
    for (const g of [gate, admin]) {
      const arn = g === gate ? credentialsRoleArn : roleArn;
      await expect(decide(g.agentPolicies, { action: 'sts:AssumeRole', resource: arn, resourcePolicy: trustPolicy })).resolves.not.toBe('Allowed');
      await expect(decide(g.agentPolicies, { action: 'iam:PassRole', resource: arn })).resolves.not.toBe('Allowed');
    }
    await expect(decide(admin.agentPolicies, { action: 'sts:AssumeRole', resource: roleArn, resourcePolicy: trustPolicy })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(admin.agentPolicies, { action: 'iam:PassRole', resource: roleArn })).resolves.toBe('ExplicitlyDenied');
  });

  test('the agent may call the collection handler through its URL only, never invoke it directly or change it', async () => {
    const fn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${admin.gate.collectionFunctionName}`;
    for (const g of [gate, admin]) {
      const name = g.gate.collectionFunctionName;
      const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      const viaUrl = { 'lambda:FunctionUrlAuthType': 'AWS_IAM' };
      await expect(decide(g.agentPolicies, { action: 'lambda:InvokeFunctionUrl', resource: arn, context: viaUrl })).resolves.toBe('Allowed');
      await expect(
        decide(g.agentPolicies, { action: 'lambda:InvokeFunction', resource: arn, context: { 'lambda:InvokedViaFunctionUrl': 'true' } }),
      ).resolves.toBe('Allowed');
      await expect(decide(g.agentPolicies, { action: 'lambda:InvokeFunction', resource: arn })).resolves.not.toBe('Allowed');
    }
    await expect(decide(admin.agentPolicies, { action: 'lambda:InvokeFunction', resource: fn })).resolves.toBe('ExplicitlyDenied');
    for (const action of [
      'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration',
      'lambda:DeleteFunctionUrlConfig',
      'lambda:AddPermission',
    ]) {
      await expect(decide(admin.agentPolicies, { action, resource: fn })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('is not taken for an agent by GuardAgents: no guard, no boundary on the credentials role', () => {
    const app = new App();
    const stack = new Stack(app, 'Ops', { env: { account: ACCOUNT, region: REGION } });
    const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
    const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    const g = new ApprovalGate(stack, 'Gate', {
      operations: [GatedOperation.of({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER], mode: ExecutionMode.CREDENTIALS })],
      approvers: [Approver.role(lead)],
    });
    g.grantRequest(agent);
    Aspects.of(app).add(new GuardAgents());
    const template = app.synth().getStackByName('Ops').template as Template;
    const role = template.Resources[stack.getLogicalId(g.credentialsRole!.node.defaultChild as iam.CfnRole)];
    expect(role.Properties.PermissionsBoundary).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const guarded = g.credentialsRole!.node.metadata.filter((m) => String(m.data).includes('guard-agents:guarded'));
    expect(guarded).toEqual([]);
  });
});

describe('credentials mode validation', () => {
  const build = (props: Record<string, unknown>, op?: () => GatedOperation) => () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: ACCOUNT, region: REGION } });
    const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
    new ApprovalGate(stack, 'Gate', {
      operations: [op ? op() : GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER] })],
      approvers: [Approver.role(lead)],
      ...props,
    });
  };

  test.each([
    ['credentialsDuration below STS minimum', { credentialsDuration: Duration.minutes(10) }, /credentialsDuration of 600 seconds is out of range/],
    ['credentialsDuration above the role-chaining cap', { credentialsDuration: Duration.hours(2) }, /credentialsDuration of 7200 seconds/],
    ['approvalExpiry too short', { approvalExpiry: Duration.seconds(30) }, /approvalExpiry of 30 seconds is out of range/],
    ['approvalExpiry too long', { approvalExpiry: Duration.days(1) }, /approvalExpiry of 86400 seconds/],
  ])('fails when %s', (_what, props, message) => {
    expect(build(props)).toThrow(message);
  });

  test('fails when additional actions are wildcards, of another service, unscoped, or given in perform mode', () => {
    const op =
      (additionalActions: string[], mode = ExecutionMode.CREDENTIALS) =>
      () =>
        GatedOperation.of({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER], additionalActions, mode });
    expect(build({}, op(['rds:Describe*']))).toThrow(/wildcard/);
    expect(build({}, op(['ec2:RebootInstances']))).toThrow(/not a rds action/);
    expect(build({}, op(['rds:DescribeDBEngineVersions']))).toThrow(/no resource-level permissions/);
    expect(build({}, op(['rds:RebootDBCluster'], ExecutionMode.PERFORM))).toThrow(/ExecutionMode.CREDENTIALS only/);
  });

  const credentialsOf = (service: string, action: string, resource: string, resourceArn: string | undefined, additionalActions?: string[]) => () =>
    GatedOperation.credentials({ service, action, resources: [resource], resourceArn, additionalActions });
  const LAMBDA_FN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:orders-api`;
  const FN_BINDING = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:{FunctionName}`;
  test.each([
    [
      'a code-execution action (cloudformation:UpdateStack runs the stack role)',
      credentialsOf('cloudformation', 'UpdateStack', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Production/*`, '{StackName}'),
      /cloudformation:UpdateStack cannot be handed out in ExecutionMode.CREDENTIALS: it makes something that holds another role run/,
    ],
    [
      'a code-execution action (lambda:UpdateFunctionCode)',
      credentialsOf('lambda', 'UpdateFunctionCode', LAMBDA_FN, FN_BINDING),
      /lambda:UpdateFunctionCode cannot be handed out.*code-execution class/,
    ],
    [
      'a code-execution additional action (lambda:UpdateFunctionCode after PutFunctionConcurrency)',
      credentialsOf('lambda', 'PutFunctionConcurrency', LAMBDA_FN, FN_BINDING, ['UpdateFunctionCode']),
      /lambda:UpdateFunctionCode cannot be handed out/,
    ],
    [
      'a stack operation that acts with the stored service role (cloudformation:DeleteStack)',
      credentialsOf('cloudformation', 'DeleteStack', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Production/*`, '{StackName}'),
      /cloudformation:DeleteStack cannot be handed out.*stored service role/,
    ],
    [
      'an IAM action',
      credentialsOf('iam', 'UpdateAssumeRolePolicy', `arn:aws:iam::${ACCOUNT}:role/ops`, `arn:aws:iam::${ACCOUNT}:role/{RoleName}`),
      /iam:UpdateAssumeRolePolicy cannot be handed out.*IAM changes identities/,
    ],
    [
      'a resource-policy write the session could grant itself (s3:PutBucketPolicy)',
      credentialsOf('s3', 'PutBucketPolicy', 'arn:aws:s3:::orders-archive', 'arn:aws:s3:::{Bucket}'),
      /s3:PutBucketPolicy cannot be handed out.*Permissions management/,
    ],
    [
      'a resource policy as an additional action (secretsmanager:PutResourcePolicy after PutSecretValue)',
      credentialsOf('secretsmanager', 'PutSecretValue', `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-password-*`, undefined, [
        'PutResourcePolicy',
      ]),
      /secretsmanager:PutResourcePolicy cannot be handed out.*Permissions management/,
    ],
  ])('fails when credentials mode is given %s: refused at synth, pointing to perform mode', (_what, op, message) => {
    expect(build({}, op)).toThrow(message);
    let error: any;
    try {
      build({}, op)();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'GatedOperation.CredentialsModeEscalates',
      fix: expect.stringMatching(/Use ExecutionMode.PERFORM \(the default\)/),
    });
  });

  test('the same code-execution action is accepted in perform mode (the gate makes exactly the approved call)', () => {
    const op = () => GatedOperation.of({ service: 'lambda', action: 'UpdateFunctionCode', resources: [LAMBDA_FN], resourceArn: FN_BINDING });
    expect(build({}, op)).not.toThrow();
  });

  test('the workflow with a credentials-mode operation is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(gate.definition);
    expect(isValid ? '' : errorsText('\n')).toBe('');
    // and the collection window's states are reached from the operation's choice
    expect(JSON.stringify(gate.definition.States[APPROVAL_STATES.perform])).toContain(APPROVAL_STATES.authorizeCollection);
  });

  test('a custom duration and expiry reach the collection handler', () => {
    const s = synthGate({
      operations: [GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER] })],
      credentialsDuration: Duration.minutes(30),
      approvalExpiry: Duration.minutes(10),
    });
    const e = environmentOf(s.template, logicalIdOf(s.template, 'AWS::Lambda::Function', 'GateCollector'));
    expect([e.CREDENTIALS_DURATION_SECONDS, e.COLLECT_WITHIN_SECONDS]).toEqual(['1800', '600']);
    expect(s.definition.States[APPROVAL_STATES.awaitCollection].Seconds).toBe(600);
  });
});

describe('a gate with credentials-mode operations under cdk-nag and the library pack', () => {
  test('reports no finding on the gate (collection handler, its role, the credentials role) with nothing acknowledged by the user', () => {
    // GIVEN a gate with a credentials-mode operation, as the nag test of the library's own constructs builds one
    const app = new App();
    const stack = new Stack(app, 'Guardrails', { env: { account: ACCOUNT, region: REGION }, terminationProtection: true });
    const agent = new AgentRole(stack, 'Agent', {
      agentName: 'ops-assistant',
      assumedBy: new iam.AccountRootPrincipal(),
      sourceIdentityPattern: 'ops-assistant-*',
    });
    const lead = new iam.Role(stack, 'SecurityLead', { assumedBy: new iam.AccountRootPrincipal(), roleName: 'security-lead' });
    const g = new ApprovalGate(stack, 'Gate', {
      operations: [GatedOperation.credentials({ service: 'rds', action: 'FailoverDBCluster', resources: [CLUSTER, `${CLUSTER}-*`] })],
      approvers: [Approver.role(lead)],
    });
    g.grantRequest(agent);
    app.synth();
    // WHEN both packs check it
    const found: string[] = [];
    for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
      for (const v of pack.validateScope(app).violations) {
        for (const r of v.violatingResources) {
          if ((r.constructPath ?? '').startsWith(g.node.path)) found.push(`${v.ruleName} at ${r.constructPath}`);
        }
      }
    }
    // THEN nothing is reported on the gate
    expect(found).toEqual([]);
  });
});
