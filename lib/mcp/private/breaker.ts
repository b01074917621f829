/**
 * `breaker_status`: whether this agent is quarantined, and its counts against the thresholds in
 * the current window. The thresholds come from the app (the breaker's configuration in the cloud
 * assembly); the state from AWS with the server's own credentials. What an agent cannot read (the
 * breaker's table is a guardrail component, out of its reach) is said so, never guessed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { PolicyDocumentJson, QUARANTINE_POLICY_NAME, isQuarantine } from '../../circuit-breaker/runtime/breaker-quarantine';
import { exceededThresholds, slidingEstimate } from '../../circuit-breaker/runtime/processor';
import { BreakerStore, WindowCounts, windowStartOf } from '../../circuit-breaker/runtime/store';
import { inertQuoted } from '../../shared/inert-text';
import { BreakerWatch, Knowledge } from './knowledge';

export interface BreakerStatus {
  readonly agent: string;
  readonly watched: boolean;
  /** true, false, or null when it could not be read. */
  readonly quarantined: boolean | null;
  readonly quarantineDetail: string;
  readonly breakers: Array<{
    readonly breaker: string;
    readonly monitorOnly: boolean;
    readonly windowSeconds: number;
    readonly thresholds: { readonly destructive: number; readonly denied: number; readonly writes: number | null };
    readonly state: string | null;
    readonly counts: (WindowCounts & { readonly exceeded: string[] }) | null;
    readonly countsDetail: string;
  }>;
  readonly next: string;
}

export interface BreakerOptions {
  readonly region: string;
  readonly iam?: () => IAMClient;
  readonly dynamodb?: (region: string) => DynamoDBClient;
}

function failure(e: unknown): string {
  const err = e as Error & { name?: string };
  return inertQuoted(`${err.name ?? 'Error'}: ${err.message}`, 200);
}

const DENIED = /AccessDenied|UnauthorizedOperation|NotAuthorized/i;

/** The quarantine policy on the role, read from IAM. Denied means: quarantined, or the read is not allowed. */
async function quarantine(k: Knowledge, options: BreakerOptions): Promise<{ quarantined: boolean | null; detail: string }> {
  const iam = options.iam ? options.iam() : new IAMClient({ region: options.region, maxAttempts: 3 });
  try {
    const policy = await iam.send(new GetRolePolicyCommand({ RoleName: k.agent.roleName, PolicyName: QUARANTINE_POLICY_NAME }));
    const text = policy.PolicyDocument ?? '';
    const document = JSON.parse(text.trim().startsWith('{') ? text : decodeURIComponent(text)) as PolicyDocumentJson;
    return isQuarantine(document)
      ? { quarantined: true, detail: `the quarantine policy ${QUARANTINE_POLICY_NAME} is on role ${k.agent.roleName}: every call is denied` }
      : { quarantined: false, detail: 'no quarantine in place (sessions issued before the last reset stay revoked)' };
  } catch (e) {
    if ((e as Error).name === 'NoSuchEntity' || (e as Error).name === 'NoSuchEntityException') {
      return { quarantined: false, detail: `no quarantine policy on role ${k.agent.roleName}` };
    }
    if (DENIED.test((e as Error).name ?? '') || DENIED.test((e as Error).message ?? '')) {
      return {
        quarantined: null,
        detail: 'IAM denied reading the role\'s policy; a quarantined agent is denied every call, so treat yourself as quarantined '
          + `until a person confirms (${failure(e)})`,
      };
    }
    return { quarantined: null, detail: `IAM could not be asked (${failure(e)})` };
  } finally {
    iam.destroy();
  }
}

type Counts = BreakerStatus['breakers'][number]['counts'];

async function counts(watch: BreakerWatch, options: BreakerOptions): Promise<{ state: string | null; counts: Counts; detail: string }> {
  const dynamodb = options.dynamodb ? options.dynamodb(watch.region) : new DynamoDBClient({ region: watch.region, maxAttempts: 3 });
  try {
    const store = new BreakerStore(dynamodb, watch.tableName);
    const now = new Date();
    const start = windowStartOf(now, watch.config.windowSeconds);
    const current = await store.window(watch.config.agentName, start);
    const previous = await store.window(watch.config.agentName, new Date(start.getTime() - watch.config.windowSeconds * 1000));
    const overlap = 1 - (now.getTime() - start.getTime()) / (watch.config.windowSeconds * 1000);
    const estimate = slidingEstimate(current, previous, overlap);
    const state = await store.state(watch.config.agentName);
    return {
      state: state?.state ?? 'closed',
      counts: { ...estimate, exceeded: exceededThresholds(watch.config, estimate) },
      detail: `the last ${watch.config.windowSeconds} s (this window plus the previous one weighted by its overlap, as the breaker counts)`,
    };
  } catch (e) {
    const denied = DENIED.test((e as Error).name ?? '') || DENIED.test((e as Error).message ?? '');
    return {
      state: null,
      counts: null,
      detail: denied
        ? `not readable with these credentials: the breaker's table ${watch.tableName} is a guardrail component, out of an agent's reach; `
          + 'a person reads it with `npx cdk-agent-guardrails breaker status`'
        : `the breaker's table could not be read (${failure(e)})`,
    };
  } finally {
    dynamodb.destroy();
  }
}

export async function breakerStatus(k: Knowledge, options: BreakerOptions): Promise<BreakerStatus> {
  const q = await quarantine(k, options);
  const breakers = [];
  for (const watch of k.breakers) {
    const c = await counts(watch, options);
    breakers.push({
      breaker: watch.breaker,
      monitorOnly: watch.monitorOnly,
      windowSeconds: watch.config.windowSeconds,
      thresholds: { destructive: watch.config.maxDestructiveCalls, denied: watch.config.maxDeniedCalls, writes: watch.config.maxWriteCalls || null },
      state: c.state,
      counts: c.counts,
      countsDetail: c.detail,
    });
  }
  const next = q.quarantined === true || breakers.some((b) => b.state === 'tripped')
    ? 'Stop: you are quarantined until a person resets the breaker. Tell the person you work for.'
    : q.quarantined === null ? 'Treat yourself as quarantined until a person confirms otherwise; stop and ask.'
      : 'Keep destructive and denied calls well under the thresholds: every denied call counts.';
  return { agent: k.agent.name, watched: breakers.length > 0, quarantined: q.quarantined, quarantineDetail: q.detail, breakers, next };
}

export function breakerText(s: BreakerStatus): string {
  const head = s.quarantined === true ? `QUARANTINED: ${s.agent}: ${s.quarantineDetail}.`
    : s.quarantined === false ? `NOT QUARANTINED: ${s.agent}: ${s.quarantineDetail}.`
      : `UNKNOWN: whether ${s.agent} is quarantined: ${s.quarantineDetail}.`;
  const lines = [head];
  if (!s.watched) lines.push('No circuit breaker of this app watches this agent: nothing counts its calls.');
  for (const b of s.breakers) {
    const t = b.thresholds;
    const limits = `trips above ${t.destructive} destructive or ${t.denied} denied calls${t.writes ? ` or ${t.writes} writes` : ''} `
      + `per ${b.windowSeconds} s`
      + `${b.monitorOnly ? ' (monitor only: alerts, never quarantines)' : ''}`;
    const now = b.counts
      ? `state ${b.state}; counts ${b.counts.destructive} destructive, ${b.counts.denied} denied, ${b.counts.writes} writes in ${b.countsDetail}`
        + `${b.counts.exceeded.length > 0 ? `; above: ${b.counts.exceeded.join(', ')}` : ''}`
      : `counts ${b.countsDetail}`;
    lines.push(`Breaker ${b.breaker}: ${limits}; ${now}.`);
  }
  lines.push(`Next: ${s.next}`);
  return lines.join('\n');
}
