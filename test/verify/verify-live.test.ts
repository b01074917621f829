import { buildApp } from '../../examples/production-app/main';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { findAgents } from '../../lib/verify/model/agents';
import { readAssembly } from '../../lib/verify/model/assembly';
import { awsManagedPolicyDocument } from '../../lib/shared/aws-managed-policies';
import { LocalIamEndpoint, LocalIamState, LocalRole, startLocalIamSimulatorEndpoint } from '../support/local-iam-simulator-endpoint';
import { IncidentStack, cli, synthTo } from './verify-fixtures';

// verify --live drives the real @aws-sdk/client-iam against a local IAM query-protocol endpoint on
// 127.0.0.1 whose decisions come from @cloud-copilot/iam-simulate. No client is mocked.
const ACCOUNT = '123456789012';
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const POWER_USER = 'arn:aws:iam::aws:policy/PowerUserAccess';

/** The deployed form of an assembly's agent role: its documents as CDK would deploy them. */
function deployedRole(dir: string, roleName: string, account: string): { role: LocalRole; policies: Record<string, unknown> } {
  const [agent] = findAgents(readAssembly(dir));
  const deployed = (doc: unknown) => JSON.parse(JSON.stringify(doc).split(':000000000000:').join(`:${account}:`));
  const policies: Record<string, unknown> = {};
  const inline: Record<string, unknown> = {};
  const attached: string[] = [];
  for (const p of agent.identityPolicies) {
    if (p.source === 'inline') inline[p.name.replace(/[^\w+=,.@-]/g, '-')] = deployed(p.document);
    else {
      const arn = deployed(p.arn) as string;
      policies[arn] = deployed(p.document);
      attached.push(arn);
    }
  }
  const boundary = agent.boundary ? (deployed(agent.boundary.arn) as string) : undefined;
  if (agent.boundary && boundary) policies[boundary] = deployed(agent.boundary.document);
  return { role: { name: roleName, account, tags: agent.tags, inline, attached, boundary }, policies };
}

describe('verify --live against IAM (local endpoint, real SDK client)', () => {
  let endpoint: LocalIamEndpoint;
  let productionApp: string;
  let incidentApp: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIALOCALTEST0000000';
    process.env.AWS_SECRET_ACCESS_KEY = 'local-secret';
    delete process.env.AWS_PROFILE;
    productionApp = synthTo((app) => buildApp(app), 'verify-live-prod-');
    incidentApp = synthTo((app) => {
      new IncidentStack(app, 'Incident', { account: ACCOUNT });
    }, 'verify-live-incident-');
    // GIVEN the example's guarded agent role as deployed, plus AdministratorAccess attached outside CDK,
    // and the incident's plain role with PowerUserAccess
    const guarded = deployedRole(productionApp, 'ops-assistant-role', ACCOUNT);
    const state: LocalIamState = {
      roles: [
        { ...guarded.role, attached: [...guarded.role.attached!, ADMIN] },
        { name: 'ops-agent-role', account: ACCOUNT, attached: [POWER_USER] },
      ],
      policies: { ...guarded.policies, [ADMIN]: awsManagedPolicyDocument(ADMIN), [POWER_USER]: awsManagedPolicyDocument(POWER_USER) },
    };
    endpoint = await startLocalIamSimulatorEndpoint(state);
  });

  afterAll(async () => {
    await endpoint?.close();
    process.env = savedEnv;
  });

  test('the guarded agent stays unable to destroy production with AdministratorAccess attached outside CDK (exit 0)', async () => {
    // WHEN verify asks IAM about the deployed role
    const run = await cli(
      'verify',
      productionApp,
      '--live',
      '--role-arn',
      `arn:aws:iam::${ACCOUNT}:role/ops-assistant-role`,
      '--endpoint',
      endpoint.endpoint,
      '--json',
    );
    const report: VerifyReport = JSON.parse(run.stdout);
    // THEN it read the role as deployed, including the policy attached outside CDK
    expect(run.code).toBe(0);
    expect(report.mode).toBe('live');
    const agent = report.agents[0];
    expect(agent.agent).toBe('ops-assistant');
    expect(agent.policies).toEqual(expect.arrayContaining([{ name: 'AdministratorAccess', source: 'aws-managed', arn: ADMIN }]));
    expect(agent.boundary).toBeDefined();
    for (const call of [
      'GetRole',
      'ListRolePolicies',
      'GetRolePolicy',
      'ListAttachedRolePolicies',
      'GetPolicy',
      'GetPolicyVersion',
      'SimulatePrincipalPolicy',
    ]) {
      expect(endpoint.calls).toContain(call);
    }
    // and IAM's simulator says every destructive action on every production resource is denied
    // (every production resource of the app, and the pseudo-resource standing for those outside it)
    expect(agent.resources.length).toBe(report.productionResources.length + 1);
    expect(agent.resources.map((r) => r.resource)).toContain('(any production resource outside this app)');
    for (const r of agent.resources) {
      expect({ r: r.resource, destroy: r.canDestroy, data: r.canDeleteData, tags: r.canRetag, unknown: r.unknown }).toEqual({
        r: r.resource,
        destroy: [],
        data: [],
        tags: [],
        unknown: [],
      });
    }
    expect(agent.resources.find((r) => r.resource === 'Production/Orders')!.denied).toBeGreaterThan(3);
    expect(agent.escalation.allowed).toEqual([]);
    expect(agent.escalation.denied).toBe(agent.escalation.checked);
  });

  test('passes resource tags as context entries only for actions whose request context carries them', () => {
    const simulations = endpoint.requests.filter((p) => p.get('Action') === 'SimulatePrincipalPolicy');
    const actionsOf = (p: URLSearchParams) => [...p.entries()].filter(([k]) => k.startsWith('ActionNames.member.')).map(([, v]) => v);
    const contextOf = (p: URLSearchParams) =>
      [...p.entries()].filter(([k]) => /^ContextEntries\.member\.\d+\.ContextKeyName$/.test(k)).map(([, v]) => v);
    const withAction = (action: string) => simulations.find((p) => actionsOf(p).includes(action))!;
    // DynamoDB tables carry aws:ResourceTag; S3 buckets without ABAC do not
    expect(contextOf(withAction('dynamodb:DeleteTable'))).toContain('aws:ResourceTag/environment');
    expect(contextOf(withAction('s3:DeleteBucket'))).not.toContain('aws:ResourceTag/environment');
  });

  test('the plain incident role can destroy production per IAM, and verify --live agrees with the offline verdict (exit 1)', async () => {
    const live = await cli(
      'verify',
      incidentApp,
      '--live',
      '--role-arn',
      `arn:aws:iam::${ACCOUNT}:role/ops-agent-role`,
      '--endpoint',
      endpoint.endpoint,
      '--json',
    );
    const offline = await cli('verify', incidentApp, '--json');
    expect(live.code).toBe(1);
    expect(offline.code).toBe(1);
    const liveReport: VerifyReport = JSON.parse(live.stdout);
    const offlineReport: VerifyReport = JSON.parse(offline.stdout);
    const database = (report: VerifyReport) => report.agents[0].resources.find((r) => r.resource === 'Incident/CustomersDb')!;
    expect(database(liveReport).canDestroy).toContain('rds:DeleteDBInstance');
    expect(liveReport.summary.agentsThatCanDestroyProduction).toEqual(['ops-agent-role']);
    // the offline evaluator and IAM's simulator give the same answer for every resource and check
    // (but for the few actions whose resource types share one ARN format: --live does not ask them outside the app)
    const notAsked = new Set(liveReport.agents[0].outsideNotAsked);
    expect(notAsked.size).toBeLessThan(5);
    const asked = (actions: string[]) => actions.filter((a) => !notAsked.has(a)).sort();
    const verdicts = (report: VerifyReport) =>
      report.agents[0].resources.map((r) => ({
        resource: r.resource,
        destroy: asked(r.canDestroy),
        data: asked(r.canDeleteData),
        tags: asked(r.canRetag),
        denied: r.denied,
      }));
    expect(verdicts(liveReport)).toEqual(verdicts(offlineReport));
    const escalations = (report: VerifyReport) => report.agents[0].escalation.allowed.map((f) => `${f.action} ${f.resource}`).sort();
    expect(escalations(liveReport)).toEqual(escalations(offlineReport));
  });

  test('fails with exit 4 and a clear message when IAM does not know the role', async () => {
    const run = await cli(
      'verify',
      productionApp,
      '--live',
      '--role-arn',
      `arn:aws:iam::${ACCOUNT}:role/no-such-role`,
      '--endpoint',
      endpoint.endpoint,
    );
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('IAM GetRole no-such-role failed: NoSuchEntity');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  test('fails with exit 2 for a role ARN that is not one', async () => {
    const run = await cli('verify', productionApp, '--live', '--role-arn', 'ops-agent-role', '--endpoint', endpoint.endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--role-arn "ops-agent-role" is not a role ARN');
  });
});
