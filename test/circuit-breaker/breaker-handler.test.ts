/**
 * The breaker's Lambda handler against a real DynamoDB-compatible server (dynalite on 127.0.0.1)
 * with the real AWS SDK, and the real IAM / SNS clients against the local query-protocol endpoint.
 */
import { BreakerProcessor, ProcessResult } from '../../lib/circuit-breaker/runtime/processor';
import { BreakerStore } from '../../lib/circuit-breaker/runtime/store';
import { QUARANTINE_POLICY_NAME, quarantineDocument } from '../../lib/circuit-breaker/runtime/breaker-quarantine';
import { LocalServers, cloudTrailEvent, config, createTable, itemsOf, startServers, watched } from './breaker-fixtures';

let servers: LocalServers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers.stop();
});

const tally = (results: ProcessResult[]) =>
  results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.outcome]: (acc[r.outcome] ?? 0) + 1 }), {});

describe('a burst of 500 concurrent events', () => {
  test('gives exact counts, trips exactly once, and does not count other agents', async () => {
    // GIVEN two watched agents; the runaway may make 10 destructive calls per window, the other 1000
    const tableName = await createTable(servers.clients.dynamodb);
    const runaway = watched(servers.iam, 'runaway', { maxDestructiveCalls: 10 });
    const calm = watched(servers.iam, 'calm', { maxDestructiveCalls: 1000, maxDeniedCalls: 1000 });
    const unwatchedArn = servers.iam.addRole('human-admin');
    const processor = new BreakerProcessor(config(tableName, [runaway, calm]), servers.clients, { now: () => new Date('2026-11-24T10:01:30Z') });
    // WHEN 500 destructive events of the runaway, 200 of the other agent and 100 of an unwatched
    // role arrive all at once, interleaved
    const events = [
      ...Array.from({ length: 500 }, () => cloudTrailEvent({ roleArn: runaway.roleArn, eventName: 'DeleteTable' })),
      ...Array.from({ length: 200 }, () => cloudTrailEvent({ roleArn: calm.roleArn, eventName: 'DeleteTable' })),
      ...Array.from({ length: 100 }, () => cloudTrailEvent({ roleArn: unwatchedArn, eventName: 'DeleteTable' })),
    ].sort(() => Math.random() - 0.5);
    const results = await Promise.all(events.map((e) => processor.process(e)));
    // THEN every runaway event was counted exactly once in its window
    const [runawayWindow] = await itemsOf(servers.clients.dynamodb, tableName, 'runaway', 'window#');
    expect({ destructive: runawayWindow.destructive.N, writes: runawayWindow.writes.N, denied: runawayWindow.denied.N }).toEqual({
      destructive: '500',
      writes: '500',
      denied: '0',
    });
    // AND the other agent's events counted only for it, and the unwatched role's not at all
    const [calmWindow] = await itemsOf(servers.clients.dynamodb, tableName, 'calm', 'window#');
    expect(calmWindow.destructive.N).toBe('200');
    expect(await itemsOf(servers.clients.dynamodb, tableName, 'human-admin', '')).toEqual([]);
    // AND the breaker tripped exactly once: one claim, one quarantine written, one alert, one ledger record
    const runawayResults = results.filter((r) => r.agentName === 'runaway');
    expect(tally(runawayResults)).toEqual({ 'counted': 10, 'tripped': 1, 'already-tripped': 489 });
    expect(servers.iam.callsOf('PutRolePolicy').filter((c) => c.params.RoleName === runaway.roleName)).toHaveLength(1);
    expect(servers.iam.published.filter((m) => m.attributes.agent === 'runaway')).toHaveLength(1);
    expect(await itemsOf(servers.clients.dynamodb, tableName, 'runaway', 'ledger#')).toHaveLength(1);
    // AND the calm agent was not touched
    expect(tally(results.filter((r) => r.agentName === 'calm'))).toEqual({ counted: 200 });
    expect(servers.iam.inlinePolicies(calm.roleName)).toEqual({});
    expect(tally(results.filter((r) => r.agentName === undefined))).toEqual({ ignored: 100 });
  });
});

describe('windows', () => {
  test('roll over: counts are kept per window, expire by TTL, and calls long past stop counting', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'roller', { maxDestructiveCalls: 3, windowSeconds: 300 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    // GIVEN 3 destructive calls at the start of one 5-minute window (at the threshold, not over)
    for (const t of ['10:00:00', '10:00:01', '10:00:02']) {
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` }))).resolves.toMatchObject({
        outcome: 'counted',
      });
    }
    // WHEN 3 more arrive late in the next window, when the first three are (almost) 5 minutes old
    const next = [];
    for (const t of ['10:09:00', '10:09:30', '10:09:59']) {
      next.push(await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` })));
    }
    // THEN the new window starts from zero and nothing trips
    expect(next.map((r) => [r.outcome, r.counts?.windowStart, r.counts?.destructive])).toEqual([
      ['counted', '2026-11-24T10:05:00.000Z', 1],
      ['counted', '2026-11-24T10:05:00.000Z', 2],
      ['counted', '2026-11-24T10:05:00.000Z', 3],
    ]);
    // (these calls arrive days after their windows: each also marks the following window's item as late)
    const windows = (await itemsOf(servers.clients.dynamodb, tableName, 'roller', 'window#')).filter((w) => w.destructive);
    expect(windows.map((w) => [w.sk.S, w.destructive.N])).toEqual([
      ['window#2026-11-24T10:00:00.000Z', '3'],
      ['window#2026-11-24T10:05:00.000Z', '3'],
    ]);
    // AND the counters expire by TTL (a week after their window)
    expect(Number(windows[0].expiresAt.N)).toBe(Date.parse('2026-11-24T10:05:00Z') / 1000 + 7 * 24 * 3600);
    // AND a fourth call in the second window trips
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:09:59Z' }))).resolves.toMatchObject({
      outcome: 'tripped',
    });
  });

  test('a burst straddling a window boundary still trips: the previous window counts by its overlap', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'straddler', { maxDestructiveCalls: 3, windowSeconds: 300 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    for (const t of ['10:04:57', '10:04:58', '10:04:59']) {
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` }))).resolves.toMatchObject({
        outcome: 'counted',
      });
    }
    // the fourth call lands in a new window, one second later
    const fourth = await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:05:00Z' }));
    expect(fourth).toMatchObject({ outcome: 'tripped', counts: { windowStart: '2026-11-24T10:05:00.000Z', destructive: 1 } });
    const [ledger] = await itemsOf(servers.clients.dynamodb, tableName, 'straddler', 'ledger#');
    expect(JSON.parse(ledger.details.S).reason).toBe(
      'about 4 destructive calls (more than 3) in the last 300 s (this window plus the previous one weighted by its overlap)',
    );
  });
});

describe('one write per event, exact near the thresholds', () => {
  test('fails when late calls counted by another container into the previous window go unseen: the sliding estimate trips', async () => {
    // GIVEN an agent allowed 10 destructive calls per 300 s, and two containers of the handler
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'latecomer', { maxDestructiveCalls: 10, windowSeconds: 300 });
    const now = () => new Date('2026-11-24T10:05:10Z');
    const a = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now });
    const b = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now });
    const at = (t: string) => cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` });
    // A counts two calls of the window under way and keeps a copy of the (empty) previous window
    for (let i = 0; i < 2; i++) await expect(a.process(at('10:05:05'))).resolves.toMatchObject({ outcome: 'counted' });
    // WHEN B counts eight calls of the previous window, delivered late (each alone stays under the thresholds)
    for (let i = 0; i < 8; i++) await expect(b.process(at('10:04:50'))).resolves.toMatchObject({ outcome: 'counted' });
    // THEN A's next call, 3 + 8 x 0.97 > 10 in the last 300 s, trips: A's copy was marked stale by the late calls
    await expect(a.process(at('10:05:06'))).resolves.toMatchObject({ outcome: 'tripped' });
  });

  test('fails when a late call is judged on its own past window only: it trips the window under way', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'lastcall', { maxDestructiveCalls: 10, windowSeconds: 300 });
    const now = () => new Date('2026-11-24T10:05:10Z');
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now });
    for (let i = 0; i < 4; i++) {
      await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:05:05Z' }));
    }
    for (let i = 0; i < 6; i++) {
      await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:04:50Z' }));
    }
    // 4 now + 7 x 0.97 late: more than 10 in the last 300 s, although the past window alone holds 7
    const result = await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:04:50Z' }));
    expect(result).toMatchObject({ outcome: 'tripped', counts: { destructive: 7 } });
    const [ledger] = await itemsOf(servers.clients.dynamodb, tableName, 'lastcall', 'ledger#');
    expect(JSON.parse(ledger.details.S).reason).toMatch(/the window under way plus the previous one, with a late call/);
  });

  test('fails when the hot path reads: far from the thresholds, an event costs one DynamoDB write', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'hot', { maxDestructiveCalls: 100, windowSeconds: 300 });
    const sent: string[] = [];
    const dynamodb = servers.clients.dynamodb;
    const now = () => new Date('2026-11-24T10:05:10Z');
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now });
    const record = (next: any, context: any) => async (args: any) => {
      sent.push(context.commandName);
      return next(args);
    };
    dynamodb.middlewareStack.add(record, { step: 'initialize', name: 'countSends' });
    try {
      await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:05:05Z' }));
      const first = sent.splice(0);
      for (let i = 0; i < 20; i++) await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:05:05Z' }));
      // the first call reads the previous window once; then one conditional write each
      expect(first).toEqual(['UpdateItemCommand', 'GetItemCommand', 'GetItemCommand']);
      expect(sent).toEqual(Array(20).fill('UpdateItemCommand'));
    } finally {
      dynamodb.middlewareStack.remove('countSends');
    }
  });
});

describe('classification', () => {
  test('denied calls count against the denied threshold, successful reads do not count at all', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'prober', { maxDestructiveCalls: 100, maxDeniedCalls: 2 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    // a successful read: not counted
    await expect(
      processor.process(
        cloudTrailEvent({ roleArn: agent.roleArn, eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', readOnly: true }),
      ),
    ).resolves.toMatchObject({ outcome: 'ignored' });
    // denied calls of three protocols: EC2, a JSON service, a query service
    const denied = [
      cloudTrailEvent({
        roleArn: agent.roleArn,
        eventSource: 'ec2.amazonaws.com',
        eventName: 'DescribeInstances',
        readOnly: true,
        errorCode: 'Client.UnauthorizedOperation',
      }),
      cloudTrailEvent({ roleArn: agent.roleArn, eventSource: 'kms.amazonaws.com', eventName: 'ScheduleKeyDeletion', errorCode: 'AccessDenied' }),
      cloudTrailEvent({
        roleArn: agent.roleArn,
        eventSource: 'dynamodb.amazonaws.com',
        eventName: 'DeleteTable',
        errorCode: 'AccessDeniedException',
      }),
    ];
    const results = [];
    for (const e of denied) results.push(await processor.process(e));
    expect(results.map((r) => r.outcome)).toEqual(['counted', 'counted', 'tripped']);
    // the denied read counted as denied only; the denied destructive attempts as destructive too
    expect(results[2].counts).toMatchObject({ denied: 3, writes: 2, destructive: 2 });
    const [ledger] = await itemsOf(servers.clients.dynamodb, tableName, 'prober', 'ledger#');
    expect(JSON.parse(ledger.details.S).reason).toMatch(/^3 denied calls \(more than 2\)/);
  });

  test('data writes count as writes, not as destructive calls; a write threshold trips on them', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'writer', { maxDestructiveCalls: 1, maxWriteCalls: 2 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventSource: 'sqs.amazonaws.com', eventName: 'DeleteMessage' })),
      );
    }
    expect(outcomes.map((r) => [r.outcome, r.counts?.writes, r.counts?.destructive])).toEqual([
      ['counted', 1, 0],
      ['counted', 2, 0],
      ['tripped', 3, 0],
    ]);
  });
});

describe('the trip', () => {
  test('fails when agent-supplied text reaches the on-call live: the alert renders it inert, the ledger keeps it raw', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'forger', { maxDestructiveCalls: 1 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    // GIVEN a session name with a line break, a terminal escape and a right-to-left override
    const forged = 'run-7\nQuarantine: none, all clear\u001b[2J\u202etxt.exe';
    for (let i = 0; i < 2; i++) await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, sourceIdentity: forged }));
    // THEN the alert carries it as one visible line, escapes shown
    const body = JSON.parse(servers.iam.published.find((m) => m.attributes.agent === 'forger')!.message);
    expect(body.lastEvent.sourceIdentity).toBe('run-7\\nQuarantine: none, all clear\\u001b[2J\\u202etxt.exe');
    expect(body.lastEvent.sessionArn).not.toMatch(/[\n\u001b\u202e]/);
    // AND the ledger keeps the raw value as evidence
    const [trip] = await itemsOf(servers.clients.dynamodb, tableName, 'forger', 'ledger#');
    expect(JSON.parse(trip.details.S).lastEvent.sourceIdentity).toBe(forged);
  });

  test('writes the quarantine on the agent role, a ledger record and an alert that says how to reset', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'quarantined', { maxDestructiveCalls: 1 });
    servers.iam.seedPolicy(agent.roleName, 'AgentGrants', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }],
    });
    const now = new Date('2026-11-24T10:02:03.000Z');
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now: () => now });
    for (let i = 0; i < 2; i++) await processor.process(cloudTrailEvent({ roleArn: agent.roleArn, sourceIdentity: 'ops-assistant-run-7' }));
    // the agent's own policies are untouched; the quarantine sits beside them
    expect(servers.iam.inlinePolicies(agent.roleName)).toEqual({
      AgentGrants: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: '*' }] },
      [QUARANTINE_POLICY_NAME]: quarantineDocument(now),
    });
    const alert = servers.iam.published.find((m) => m.attributes.agent === 'quarantined')!;
    expect(alert.topicArn).toBe('arn:aws:sns:us-east-1:123456789012:breaker-alerts');
    expect(alert.subject).toBe('Circuit breaker tripped: agent quarantined is quarantined');
    const body = JSON.parse(alert.message);
    expect(body).toMatchObject({
      kind: 'trip',
      trippedAt: '2026-11-24T10:02:03.000Z',
      reset: `npx cdk-agent-guardrails breaker reset quarantined --role-name quarantined-role --table ${tableName}`,
    });
    // the record names the session: source identity and session ARN
    expect(body.lastEvent).toMatchObject({
      sourceIdentity: 'ops-assistant-run-7',
      sessionArn: 'arn:aws:sts::123456789012:assumed-role/quarantined-role/ops-assistant-run-7',
      action: 'dynamodb:DeleteTable',
    });
    const state = await new BreakerStore(servers.clients.dynamodb, tableName).state('quarantined');
    expect(state).toMatchObject({ state: 'tripped', trippedBy: 'circuit-breaker', incidentId: body.incidentId });
    expect(state?.completedAt).toBeDefined();
  });

  test(
    'fails loudly when IAM refuses the quarantine: the alert says the agent is NOT stopped, the ledger records it, the invocation fails, and a ' +
      'later event completes the trip',
    async () => {
      const tableName = await createTable(servers.clients.dynamodb);
      const agent = watched(servers.iam, 'flaky', { maxDestructiveCalls: 1 });
      let now = new Date('2026-11-24T10:01:30Z');
      const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now: () => now });
      await processor.process(cloudTrailEvent({ roleArn: agent.roleArn }));
      // GIVEN IAM refuses the quarantine write (the SDK retries LimitExceeded as throttling: every attempt fails)
      for (let i = 0; i < 3; i++) servers.iam.failNext('PutRolePolicy', 'LimitExceeded');
      // WHEN the threshold is crossed, THEN the invocation fails, so that Lambda retries it
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).rejects.toThrow(/injected failure of PutRolePolicy/);
      expect(servers.iam.inlinePolicies(agent.roleName)).toEqual({});
      // AND the on-call hears at once that the agent is NOT stopped, and what to do
      const alerts = servers.iam.published.filter((m) => m.attributes.agent === 'flaky');
      expect(alerts.map((m) => [m.attributes.kind, m.subject])).toEqual([
        ['quarantine-failed', 'QUARANTINE FAILED: circuit breaker tripped but agent flaky is NOT stopped'],
      ]);
      expect(JSON.parse(alerts[0].message).quarantine).toBe(
        'QUARANTINE FAILED: LimitExceededException: injected failure of PutRolePolicy -- the agent is NOT stopped, run `breaker trip` or remove ' +
          'its ' +
          'credentials',
      );
      // AND the ledger records the failure with the incident
      const state = await new BreakerStore(servers.clients.dynamodb, tableName).state('flaky');
      expect(state).toMatchObject({ state: 'tripped', completedAt: undefined });
      const failed = await itemsOf(servers.clients.dynamodb, tableName, 'flaky', 'ledger#');
      expect(failed.map((i) => [i.kind.S, i.incidentId.S])).toEqual([['quarantine-failed', state!.incidentId]]);
      expect(JSON.parse(failed[0].details.S).quarantine).toMatch(/^QUARANTINE FAILED: LimitExceeded/);
      // AND an event within the claiming invocation's grace period puts the quarantine on (the agent is
      // tripped, so it must be stopped), without completing the trip in the claimant's place
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'quarantine-restored' });
      expect(Object.keys(servers.iam.inlinePolicies(agent.roleName))).toEqual([QUARANTINE_POLICY_NAME]);
      expect(servers.iam.published.filter((m) => m.attributes.agent === 'flaky')).toHaveLength(1);
      // AND a later event (or Lambda's retry, a minute on) finds the unfinished trip and completes it
      now = new Date('2026-11-24T10:02:30Z');
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'completed-stale-trip' });
      expect(Object.keys(servers.iam.inlinePolicies(agent.roleName))).toEqual([QUARANTINE_POLICY_NAME]);
      expect(servers.iam.published.filter((m) => m.attributes.agent === 'flaky').map((m) => m.attributes.kind)).toEqual([
        'quarantine-failed',
        'trip',
      ]);
      const ledger = await itemsOf(servers.clients.dynamodb, tableName, 'flaky', 'ledger#');
      expect(ledger.map((i) => i.kind.S).sort()).toEqual(['quarantine-failed', 'trip']);
      expect((await new BreakerStore(servers.clients.dynamodb, tableName).state('flaky'))?.completedAt).toBeDefined();
      // AND once completed, further events do nothing more
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'already-tripped' });
      expect(servers.iam.published.filter((m) => m.attributes.agent === 'flaky')).toHaveLength(2);
    },
  );

  test('fails closed even when the alert fails too: the invocation still fails with the quarantine error', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'dark', { maxDestructiveCalls: 1 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { staleTripMs: 0 });
    await processor.process(cloudTrailEvent({ roleArn: agent.roleArn }));
    servers.iam.failNext('PutRolePolicy', 'AccessDenied');
    servers.iam.failNext('Publish', 'AuthorizationError');
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).rejects.toThrow(/injected failure of PutRolePolicy/);
      // the failed alert is logged (the Lambda's log group), and the ledger still has the record
      expect(logged.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/quarantine-failed-and-report-failed.*AuthorizationError/);
    } finally {
      logged.mockRestore();
    }
    expect((await itemsOf(servers.clients.dynamodb, tableName, 'dark', 'ledger#')).map((i) => i.kind.S)).toEqual(['quarantine-failed']);
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'completed-stale-trip' });
    expect(Object.keys(servers.iam.inlinePolicies(agent.roleName))).toEqual([QUARANTINE_POLICY_NAME]);
  });

  test('a human reset re-arms the breaker: the next incident trips again, once', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'rearmed', { maxDestructiveCalls: 1 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    await processor.process(cloudTrailEvent({ roleArn: agent.roleArn }));
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'already-tripped' });
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    await store.beginReset('rearmed', 'reset-1', 'arn:aws:iam::123456789012:user/operator', new Date().toISOString());
    await expect(store.finishReset('rearmed', 'reset-1')).resolves.toBe(true);
    const again = await Promise.all(Array.from({ length: 20 }, () => processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))));
    expect(tally(again)).toEqual({ 'tripped': 1, 'already-tripped': 19 });
    expect(await itemsOf(servers.clients.dynamodb, tableName, 'rearmed', 'ledger#')).toHaveLength(2);
  });
});

describe('after a human reset', () => {
  test("the incident's calls stop counting: the re-armed breaker trips only on new calls", async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'rebased', { maxDestructiveCalls: 3 });
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients);
    const at = (t: string) => cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` });
    // GIVEN a trip on 5 destructive calls across two windows
    for (const t of ['10:04:00', '10:04:30', '10:05:00', '10:05:10', '10:05:20']) await processor.process(at(t));
    expect((await new BreakerStore(servers.clients.dynamodb, tableName).state('rebased'))?.state).toBe('tripped');
    // WHEN a human resets (the CLI's steps: begin the reset, rebase the counters, lift, finish)
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    await store.beginReset('rebased', 'reset-1', 'arn:aws:iam::123456789012:user/operator', '2026-11-24T10:06:00Z');
    await expect(store.rebaseWindows('rebased')).resolves.toBe(2);
    await expect(store.finishReset('rebased', 'reset-1')).resolves.toBe(true);
    // THEN the next three calls in the same window count from zero, and the fourth trips
    const outcomes = [];
    for (const t of ['10:06:10', '10:06:20', '10:06:30', '10:06:40']) outcomes.push(await processor.process(at(t)));
    expect(outcomes.map((r) => [r.outcome, r.counts?.destructive])).toEqual([
      ['counted', 1],
      ['counted', 2],
      ['counted', 3],
      ['tripped', 4],
    ]);
    // AND the raw totals stay in the table as evidence
    const windows = (await itemsOf(servers.clients.dynamodb, tableName, 'rebased', 'window#')).filter((w) => w.destructive);
    expect(windows.map((w) => [w.destructive.N, w.baseDestructive.N])).toEqual([
      ['2', '2'],
      ['7', '3'],
    ]);
  });
});

describe('while a human reset is under way', () => {
  test('a trip does not claim over the reset but stops the agent and leaves itself on it; a reset that died midway is overridden', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'midreset', { maxDestructiveCalls: 1 });
    let now = new Date('2026-11-24T10:01:30Z');
    const processor = new BreakerProcessor(config(tableName, [agent]), servers.clients, { now: () => now });
    const store = new BreakerStore(servers.clients.dynamodb, tableName);
    await processor.process(cloudTrailEvent({ roleArn: agent.roleArn }));
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    // GIVEN a human reset began, lifted the quarantine, and its CLI died before finishing
    await store.beginReset('midreset', 'reset-1', 'arn:aws:iam::123456789012:user/operator', '2026-11-24T10:02:00.000Z');
    servers.iam.seedPolicy(agent.roleName, QUARANTINE_POLICY_NAME, { Version: '2012-10-17', Statement: [] });
    // WHEN the agent crosses the threshold again during the reset
    const during = await Promise.all(Array.from({ length: 5 }, () => processor.process(cloudTrailEvent({ roleArn: agent.roleArn }))));
    // THEN no event claims an incident over the reset; one leaves its trip on the reset, and quarantines the agent meanwhile
    expect(tally(during)).toEqual({ 'pending-on-reset': 1, 'already-tripped': 4 });
    expect(servers.iam.published.filter((m) => m.attributes.agent === 'midreset').map((m) => m.attributes.kind)).toEqual(['trip', 'trip']);
    expect(servers.iam.inlinePolicies(agent.roleName)[QUARANTINE_POLICY_NAME]).toEqual(quarantineDocument(now));
    const pending = await store.state('midreset');
    expect(pending).toMatchObject({ state: 'resetting', resetId: 'reset-1' });
    expect(pending?.pendingIncident?.trippedBy).toBe('circuit-breaker');
    // AND the reset can no longer close the breaker
    await expect(store.finishReset('midreset', 'reset-1')).resolves.toBe(false);
    // AND once the reset has stalled (10 minutes), the next trip overrides it: the breaker is tripped again, not left disarmed
    now = new Date('2026-11-24T10:12:01Z');
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:12:01Z' }))).resolves.toMatchObject({
      outcome: 'counted',
    });
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:12:02Z' }))).resolves.toMatchObject({
      outcome: 'tripped',
    });
    expect(await store.state('midreset')).toMatchObject({
      state: 'tripped',
      resetId: undefined,
      pendingIncident: undefined,
      completedAt: expect.any(String),
    });
    expect(servers.iam.inlinePolicies(agent.roleName)[QUARANTINE_POLICY_NAME]).toEqual(quarantineDocument(now));
  });
});

describe('monitor-only mode', () => {
  test('counts and alerts once per window, and never writes a quarantine', async () => {
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'observed', { maxDestructiveCalls: 2 });
    const processor = new BreakerProcessor(config(tableName, [agent], true), servers.clients);
    const burst = await Promise.all(
      Array.from({ length: 50 }, () => processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:01:00Z' }))),
    );
    expect(tally(burst)).toEqual({ 'counted': 2, 'alerted': 1, 'already-tripped': 47 });
    // the next window alerts once more while the burst still weighs in the sliding estimate...
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:06:00Z' }))).resolves.toMatchObject({
      outcome: 'alerted',
    });
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:06:01Z' }))).resolves.toMatchObject({
      outcome: 'already-tripped',
    });
    // ...and a quiet window later, it counts from zero again
    for (const t of ['10:20:00', '10:20:01']) {
      await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: `2026-11-24T${t}Z` }))).resolves.toMatchObject({
        outcome: 'counted',
      });
    }
    await expect(processor.process(cloudTrailEvent({ roleArn: agent.roleArn, eventTime: '2026-11-24T10:20:02Z' }))).resolves.toMatchObject({
      outcome: 'alerted',
    });
    expect(servers.iam.callsOf('PutRolePolicy').filter((c) => c.params.RoleName === agent.roleName)).toHaveLength(0);
    const alerts = servers.iam.published.filter((m) => m.attributes.agent === 'observed');
    expect(alerts.map((m) => m.attributes.kind)).toEqual(['monitor-alert', 'monitor-alert', 'monitor-alert']);
    expect(JSON.parse(alerts[0].message).quarantine).toMatch(/^NONE/);
  });
});

describe('the Lambda entry point', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test("reads its configuration from the environment the construct sets, and trips with the SDK's default clients", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require('../../lib/circuit-breaker/runtime/index') as typeof import('../../lib/circuit-breaker/runtime/index');
    const tableName = await createTable(servers.clients.dynamodb);
    const agent = watched(servers.iam, 'lambda-entry', { maxDestructiveCalls: 1 });
    Object.assign(process.env, {
      BREAKER_CONFIG: JSON.stringify(config(tableName, [agent])),
      AWS_ENDPOINT_URL_DYNAMODB: servers.dynamodbUrl,
      AWS_ENDPOINT_URL_IAM: servers.iam.url,
      AWS_ENDPOINT_URL_SNS: servers.iam.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIALAMBDAROLE',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    entry.resetForTests();
    await expect(entry.handler(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'counted' });
    await expect(entry.handler(cloudTrailEvent({ roleArn: agent.roleArn }))).resolves.toMatchObject({ outcome: 'tripped' });
    expect(
      servers.iam
        .callsOf('PutRolePolicy')
        .filter((c) => c.params.RoleName === agent.roleName)
        .map((c) => c.accessKeyId),
    ).toEqual(['AKIALAMBDAROLE']);
  });

  test('fails (so EventBridge retries) when its configuration is missing or malformed', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require('../../lib/circuit-breaker/runtime/index') as typeof import('../../lib/circuit-breaker/runtime/index');
    delete process.env.BREAKER_CONFIG;
    entry.resetForTests();
    await expect(entry.handler(cloudTrailEvent({ roleArn: 'arn:aws:iam::123456789012:role/x' }))).rejects.toThrow(/BREAKER_CONFIG is not set/);
    process.env.BREAKER_CONFIG = JSON.stringify({
      agents: [{ agentName: 'a', roleArn: 'r', roleName: 'n', maxDestructiveCalls: 0, maxDeniedCalls: 1, maxWriteCalls: 0, windowSeconds: 300 }],
      tableName: 't',
      topicArn: 'x',
      monitorOnly: false,
    });
    entry.resetForTests();
    await expect(entry.handler(cloudTrailEvent({ roleArn: 'arn:aws:iam::123456789012:role/x' }))).rejects.toThrow(/agent entry .* is malformed/);
  });
});
