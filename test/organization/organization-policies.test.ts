import { CODE_EXECUTION_ACTIONS } from '../../lib/shared/action-classes.generated';
import { ProductionProtection, ProductionScope } from '../../lib';
import { GuardrailsError, GuardrailsErrorKind } from '../../lib/shared/errors';
import { ACTION_CLASS_MEMBERS, ACTION_CLASS_NAMES } from '../../lib/shared/action-classes.generated';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { toList } from '../../lib/shared/list';
import { AgentPrincipals } from '../../lib/organization/agent-principals';
import { RenderedOrganizationPolicies, renderOrganizationPolicies } from '../../lib/organization/private/render';
import { rcpSupportedServices } from '../../lib/organization/private/org-statements';
import { synthAgent, withAdministratorAccess } from '../support/fixtures';
import { OrgRequest, PolicyDocument, contextOf, evaluateUnder, sampleResource } from './org-fixtures';
import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_PRODUCTION_VALUES } from '../../lib/shared/tags';

const documents = (policies: { document: PolicyDocument }[]) => policies.map((p) => p.document);
const unpackedDocument = (statements: unknown[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements as any[] });

/** Every action the guard is about: the destructive catalog and every generated action class. */
const CATALOG = [...new Set([...DESTRUCTIVE_CATALOG.map(([a]) => a), ...ACTION_CLASS_NAMES.flatMap((c) => ACTION_CLASS_MEMBERS[c])])].sort();
const TAGS: ReadonlyArray<[string, Record<string, string>]> = [
  ['untagged', {}],
  ['production-tagged', { environment: 'production' }],
  ['dev-tagged', { environment: 'dev' }],
];

function errorOf(render: () => unknown): GuardrailsError {
  try {
    render();
  } catch (e) {
    if (GuardrailsError.isGuardrailsError(e)) return e;
    throw e;
  }
  throw new Error('expected a GuardrailsError');
}

const CODE_EXECUTION = new Set(CODE_EXECUTION_ACTIONS.map((a) => a.toLowerCase()));

describe('organization policies: the guard packed into 2 SCPs and 2 RCPs', () => {
  let rendered: RenderedOrganizationPolicies;
  beforeAll(() => {
    // WHEN the organization guard is rendered with the defaults (fail closed, read-only, agents tagged guardrails:agent)
    rendered = renderOrganizationPolicies();
  });

  test('every policy fits the 5,120-character quota, and the count fits the default budget', () => {
    // THEN 2 SCPs and 2 RCPs, each at most 5,120 characters as Organizations counts them (the content string)
    expect(rendered.serviceControlPolicies.length).toBeLessThanOrEqual(2);
    expect(rendered.resourceControlPolicies.length).toBeLessThanOrEqual(2);
    expect(rendered.resourceControlPolicies.length).toBeGreaterThan(0);
    for (const p of [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies]) {
      expect(p.content).toBe(JSON.stringify(p.document));
      expect(p.size).toBe(p.content.length);
      expect(p.size).toBeLessThanOrEqual(5120);
    }
    // the sizes, for the record
    const sizes = [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies].map((p) => `${p.name}=${p.size}`);
    expect(sizes.length).toBe(rendered.serviceControlPolicies.length + rendered.resourceControlPolicies.length);
  });

  test('every statement applies to agent principals only', () => {
    for (const p of [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies]) {
      for (const statement of p.document.Statement) {
        expect(statement.Effect).toBe('Deny');
        expect(statement.Condition?.Null?.['aws:PrincipalTag/guardrails:agent']).toBe('false');
      }
    }
  });

  test('the RCPs are valid RCPs: Principal "*", no NotAction, no Action "*", only services RCPs support', () => {
    const services = new Set(rcpSupportedServices());
    for (const p of rendered.resourceControlPolicies) {
      for (const statement of p.document.Statement) {
        expect(statement.Principal).toBe('*');
        expect(statement.NotAction).toBeUndefined();
        for (const action of toList(statement.Action)) {
          expect(action).not.toBe('*');
          expect(services.has(action.split(':')[0])).toBe(true);
        }
      }
    }
    expect(services.has('ec2') || services.has('rds') || services.has('lambda') || services.has('iam')).toBe(false);
  });

  test('nothing is dropped: the packed policies carry every action of every unpacked statement', () => {
    for (const [packed, unpacked] of [
      [rendered.serviceControlPolicies, rendered.unpacked.serviceControlPolicy],
      [rendered.resourceControlPolicies, rendered.unpacked.resourceControlPolicy],
    ] as const) {
      const statements = packed.flatMap((p) => p.document.Statement);
      for (const original of unpacked) {
        const parts = statements.filter((s) => s.Sid === original.Sid || new RegExp(`^${original.Sid}\\d+$`).test(s.Sid));
        const key = (s: any) =>
          toList(s.Action ?? s.NotAction)
            .sort()
            .join(',');
        expect(
          parts
            .flatMap((s) => toList(s.Action ?? s.NotAction))
            .sort()
            .join(','),
        ).toBe(key(original));
      }
    }
  });

  /** The environment tag as the request context carries it (absent for actions whose context has no resource tag). */
  const contextTag = (request: OrgRequest): string | undefined => {
    const value = contextOf(request)['aws:ResourceTag/environment'];
    return typeof value === 'string' ? value.toLowerCase() : undefined;
  };
  test.each<[string, () => ProductionScope, (request: OrgRequest) => boolean]>([
    // fail closed: disposable only when the context carries a non-production value
    ['fail-closed', () => ProductionScope.failClosed(), (r) => DEFAULT_NON_PRODUCTION_VALUES.includes(contextTag(r) ?? '')],
    // the weaker scope: anything whose context carries no production value is not production (an untagged resource, an untaggable action)
    ['tagged-only', () => ProductionScope.taggedOnly(), (r) => !DEFAULT_PRODUCTION_VALUES.includes(contextTag(r) ?? '')],
  ])(
    'with the %s scope, an agent with AdministratorAccess and no guard on its role is held by the SCPs as an AgentRole by its guard',
    (_, scope, seenAsNonProduction) => {
      // GIVEN an AgentRole (read-only protection) with AdministratorAccess as the reference, and the SCPs of the same scope
      const { policies } = synthAgent(withAdministratorAccess, { production: scope(), managedPolicyQuota: 20 });
      const scps = documents(renderOrganizationPolicies({ scope: scope() }).serviceControlPolicies);
      const identity = policies.identityPolicies.map((p) => p.policy);
      const boundary = policies.permissionsBoundary ? [policies.permissionsBoundary.policy] : [];
      const differences: string[] = [];
      let deniedOnProduction = 0;
      let allowedOnDisposable = 0;
      let codeRunDeniedOnDisposable = 0;
      for (const action of CATALOG) {
        const resource = sampleResource(action);
        for (const [label, tags] of TAGS) {
          // WHEN the same request of an agent is decided by the role's guard, and by the SCPs for a plain administrator
          const request = { action, resource, tags, agent: true };
          const byRole = evaluateUnder([], request, identity, boundary) === 'Allowed';
          const byOrganization = evaluateUnder(scps, request) === 'Allowed';
          const word = (allowed: boolean) => (allowed ? 'allows' : 'denies');
          // Running code on disposable resources included: the SCPs carry the role's deny of it, within the default budget.
          if (byRole !== byOrganization) differences.push(`${action} on ${label}: role ${word(byRole)}, organization ${word(byOrganization)}`);
          if (!byOrganization && seenAsNonProduction(request) && CODE_EXECUTION.has(action.toLowerCase())) codeRunDeniedOnDisposable++;
          if (!byOrganization && label !== 'dev-tagged') deniedOnProduction++;
          if (byOrganization && label === 'dev-tagged') allowedOnDisposable++;
        }
      }
      // THEN they agree on every action of the catalog, tagged production, untagged or disposable
      expect(differences).toEqual([]);
      expect(deniedOnProduction).toBeGreaterThan(CATALOG.length / 2);
      expect(allowedOnDisposable).toBeGreaterThan(CATALOG.length / 2);
      // AND running code as a disposable resource's identity is denied by the SCPs there (it was the role's alone)
      expect(codeRunDeniedOnDisposable).toBeGreaterThan(50);
    },
  );

  test('the RCPs decide as the SCPs do on every action of the services RCPs support', () => {
    const services = new Set(rcpSupportedServices());
    const actions = CATALOG.filter((a) => services.has(a.split(':')[0].toLowerCase()));
    expect(actions.length).toBeGreaterThan(500);
    const differences: string[] = [];
    for (const action of actions) {
      const resource = sampleResource(action);
      for (const [label, tags] of TAGS) {
        const request = { action, resource, tags, agent: true };
        const scp = evaluateUnder(documents(rendered.serviceControlPolicies), request);
        const rcp = evaluateUnder(documents(rendered.resourceControlPolicies), request);
        if (scp !== rcp) differences.push(`${action} on ${label}: SCPs ${scp}, RCPs ${rcp}`);
      }
    }
    expect(differences).toEqual([]);
  });

  test('principals without the agent tag (people, pipelines) are unaffected by every policy', () => {
    const denied: string[] = [];
    const all = [...documents(rendered.serviceControlPolicies), ...documents(rendered.resourceControlPolicies)];
    for (const action of CATALOG) {
      for (const [label, tags] of TAGS) {
        const decision = evaluateUnder(all, { action, resource: sampleResource(action), tags, agent: false });
        if (decision !== 'Allowed') denied.push(`${action} on ${label}: ${decision}`);
      }
    }
    expect(denied).toEqual([]);
  });

  test('the report says which services RCPs cannot reach and what covers them instead', () => {
    const { coverage } = rendered;
    for (const service of ['ec2', 'rds', 'lambda', 'iam', 'cloudformation']) expect(coverage.notableServicesOutsideRcps).toContain(service);
    for (const service of ['s3', 'dynamodb', 'kms', 'sqs', 'secretsmanager', 'sts']) expect(coverage.rcpServices).toContain(service);
    expect(coverage.coveredInstead).toMatch(/SCPs .*AgentRole guard/);
    expect(coverage.servicesOutsideRcps).toBeGreaterThan(100);
  });
});

describe('organization policies: packing never changes a decision', () => {
  const MIGRATION = 'the ops agent restarts instances during the migration';
  test.each<[string, () => RenderedOrganizationPolicies]>([
    ['the defaults (fail closed, read-only)', () => renderOrganizationPolicies()],
    ['the accounts scope', () => renderOrganizationPolicies({ scope: ProductionScope.accounts(['123456789012']) })],
    [
      'the resources scope',
      () =>
        renderOrganizationPolicies({
          scope: ProductionScope.resources(['arn:aws:dynamodb:us-east-1:123456789012:table/prod']),
        }),
    ],
    ['the tagged-only scope', () => renderOrganizationPolicies({ scope: ProductionScope.taggedOnly() })],
    [
      'the no-destruction protection, split over 6 SCPs',
      () =>
        renderOrganizationPolicies({
          protection: ProductionProtection.noDestructionOnly(MIGRATION),
          serviceControlPolicies: 6,
          resourceControlPolicies: 3,
        }),
    ],
  ])('with %s, the packed policies decide as the unpacked guard on the whole catalog', (_label, render) => {
    // GIVEN the packed policies, and the unpacked statements as one (oversized) policy of each kind
    const rendered = render();
    const scps = documents(rendered.serviceControlPolicies);
    const rcps = documents(rendered.resourceControlPolicies);
    const unpackedScp = unpackedDocument(rendered.unpacked.serviceControlPolicy);
    const unpackedRcp = unpackedDocument(rendered.unpacked.resourceControlPolicy);
    const differences: string[] = [];
    let denied = 0;
    for (const action of CATALOG) {
      const resource = sampleResource(action);
      for (const [label, tags] of TAGS) {
        // WHEN each action of the catalog is decided under both, for an agent
        const request = { action, resource, tags, agent: true };
        const packed = evaluateUnder(scps, request);
        if (packed !== evaluateUnder([unpackedScp], request)) differences.push(`SCP ${action} ${label}`);
        if (evaluateUnder(rcps, request) !== evaluateUnder([unpackedRcp], request)) differences.push(`RCP ${action} ${label}`);
        if (packed === 'ExplicitlyDenied') denied++;
      }
    }
    // THEN not one decision differs (and the policies do deny)
    expect(CATALOG.length).toBeGreaterThan(8000);
    expect(differences).toEqual([]);
    expect(denied).toBeGreaterThan(500);
  });
});

describe('organization policies: budgets, scopes and protections', () => {
  test('fails when the SCP budget is too small, naming what does not fit and dropping nothing', () => {
    // WHEN the guard must fit one SCP
    const error = errorOf(() => renderOrganizationPolicies({ serviceControlPolicies: 1 }));
    // THEN a quota error says how many are needed, and names the statements left over
    expect(error.kind).toBe(GuardrailsErrorKind.QUOTA);
    expect(error.code).toBe('OrganizationPolicies.OverBudget');
    expect(error.message).toMatch(/needs 2 service control policies of at most 5120 characters \(\d+ characters in all\), more than the budget of 1/);
    expect(error.message).toMatch(/Does not fit in the first 1: \w+ (\[[\w, ]+\] )?\(\d+ characters, \d+ patterns?\)/);
    expect(error.message).toContain('Nothing was dropped to fit.');
  });

  test('fails when the RCP budget is too small, naming what does not fit', () => {
    const error = errorOf(() => renderOrganizationPolicies({ resourceControlPolicies: 1 }));
    expect(error.kind).toBe(GuardrailsErrorKind.QUOTA);
    expect(error.message).toMatch(/needs 2 resource control policies .* more than the budget of 1/);
    expect(error.message).toMatch(/Does not fit in the first 1: .*Deny\w+/);
  });

  test('fails when a statement that cannot be split is larger than a policy may be', () => {
    const error = errorOf(() => renderOrganizationPolicies({ maxCharacters: 2000, serviceControlPolicies: 10, resourceControlPolicies: 10 }));
    expect(error.kind).toBe(GuardrailsErrorKind.QUOTA);
    expect(error.message).toMatch(/DenyChangesToProduction \(\d+ characters, \d+ NotAction patterns\) does not fit/);
    expect(error.message).toMatch(/of at most 2000 characters, and cannot be split/);
  });

  test('fails when the weaker no-destruction protection does not fit the default budget (the whole catalog is listed), and fits a larger one', () => {
    const protection = ProductionProtection.noDestructionOnly('the ops agent restarts instances during the migration');
    const error = errorOf(() => renderOrganizationPolicies({ protection }));
    expect(error.message).toMatch(/needs \d+ service control policies .* more than the budget of 2/);
    expect(error.message).toMatch(/Does not fit in the first 2: DenyDestroyProduction/);
    const larger = renderOrganizationPolicies({ protection, serviceControlPolicies: 6, resourceControlPolicies: 3 });
    expect(larger.serviceControlPolicies.length).toBeGreaterThan(3);
    expect(larger.coverage.notes.join(' ')).toMatch(/no-destruction protection is weaker/);
  });

  test.each([
    ['accounts', () => ProductionScope.accounts(['123456789012'])],
    ['resources', () => ProductionScope.resources(['arn:aws:dynamodb:us-east-1:123456789012:table/orders'])],
    ['tagged-only', () => ProductionScope.taggedOnly()],
  ])('the %s scope fits the default budget', (_label, scope) => {
    const rendered = renderOrganizationPolicies({ scope: scope() });
    expect(rendered.serviceControlPolicies.length).toBeLessThanOrEqual(2);
    expect(rendered.resourceControlPolicies.length).toBeLessThanOrEqual(2);
    for (const p of [...rendered.serviceControlPolicies, ...rendered.resourceControlPolicies]) expect(p.size).toBeLessThanOrEqual(5120);
  });

  test('the accounts scope denies agents in the production account, and not in others', () => {
    const rendered = renderOrganizationPolicies({ scope: ProductionScope.accounts(['123456789012']) });
    const scps = documents(rendered.serviceControlPolicies);
    const request = (account: string) => ({
      action: 'ec2:StopInstances',
      resource: `arn:aws:ec2:us-east-1:${account}:instance/i-1`,
      agent: true,
      context: { 'aws:ResourceAccount': account },
    });
    expect(evaluateUnder(scps, request('123456789012'))).toBe('ExplicitlyDenied');
    expect(evaluateUnder(scps, request('210987654321'))).toBe('Allowed');
  });

  test.each([
    ['a non-integer SCP budget', { serviceControlPolicies: 1.5 }, /budget.serviceControlPolicies must be an integer from 1 to 50, got 1.5/],
    ['no SCP at all', { serviceControlPolicies: 0 }, /budget.serviceControlPolicies must be an integer from 1 to 50, got 0/],
    ['a negative RCP budget', { resourceControlPolicies: -1 }, /budget.resourceControlPolicies must be an integer from 0 to 50, got -1/],
    ['more characters than the quota', { maxCharacters: 6144 }, /budget.maxCharacters must be an integer from 500 to 5120, got 6144/],
    ['a pass-role entry that is no role ARN', { allowedPassRoles: ['deployer'] }, /allowedPassRoles: "deployer" is not an IAM role ARN/],
    [
      'an assume-role entry that is a deploy-time value',
      { allowedAssumeRoles: ['${Token[TOKEN.12]}'] },
      /allowedAssumeRoles: .* is not an IAM role ARN/,
    ],
  ])('fails when given %s', (_label, options, message) => {
    const error = errorOf(() => renderOrganizationPolicies(options as any));
    expect(error.kind).toBe(GuardrailsErrorKind.INVALID_PROPS);
    expect(error.message).toMatch(message);
    expect(error.fix).toBeTruthy();
  });

  test('no RCP budget renders SCPs only, and says what that leaves open', () => {
    const rendered = renderOrganizationPolicies({ resourceControlPolicies: 0 });
    expect(rendered.resourceControlPolicies).toEqual([]);
    expect(rendered.coverage.notes.join(' ')).toMatch(/No RCPs: production resources are not protected from agents of other accounts/);
  });

  test('agents identified by principal ARN: matching principals are held, others are not', () => {
    // Agents named by ARN repeat the ARN condition in every statement: a third SCP (the default budget of 2 refuses, see below)
    const rendered = renderOrganizationPolicies({ agents: AgentPrincipals.arnLike(['arn:aws:iam::*:role/agent-*']), serviceControlPolicies: 3 });
    const scps = documents(rendered.serviceControlPolicies);
    const request = (role: string) => ({
      action: 'dynamodb:DeleteTable',
      resource: 'arn:aws:dynamodb:us-east-1:123456789012:table/orders',
      agent: false,
      context: { 'aws:PrincipalArn': `arn:aws:iam::123456789012:role/${role}` },
    });
    expect(evaluateUnder(scps, request('agent-ops'))).toBe('ExplicitlyDenied');
    expect(evaluateUnder(scps, request('deployer'))).toBe('Allowed');
    // an ARN condition never matches an AWS service: RCPs need no extra exclusion
    expect(rendered.resourceControlPolicies[0].document.Statement[0].Condition?.BoolIfExists).toBeUndefined();
  });

  test('a negated agent condition keeps AWS services out of the RCPs', () => {
    const agents = AgentPrincipals.condition('StringNotLike', 'aws:PrincipalArn', ['arn:aws:iam::*:role/human-*']);
    const rendered = renderOrganizationPolicies({ agents, serviceControlPolicies: 3 });
    for (const statement of rendered.resourceControlPolicies.flatMap((p) => p.document.Statement)) {
      expect(statement.Condition?.BoolIfExists).toEqual({ 'aws:PrincipalIsAWSService': 'false' });
    }
  });

  test.each([
    ['an empty tag key', () => AgentPrincipals.tagged(''), /AgentPrincipals.tagged: "" is not a valid tag key/],
    ['an aws: tag key', () => AgentPrincipals.tagged('aws:agent'), /"aws:agent" is not a valid tag key/],
    ['no ARN pattern', () => AgentPrincipals.arnLike([]), /AgentPrincipals.arnLike: patterns is empty/],
    [
      'an ARN pattern that is no principal',
      () => AgentPrincipals.arnLike(['arn:aws:s3:::bucket']),
      /"arn:aws:s3:::bucket" is not an IAM principal ARN pattern/,
    ],
    [
      'an unknown operator',
      () => AgentPrincipals.condition('StringMatches', 'aws:PrincipalArn', ['x']),
      /"StringMatches" is not a supported condition operator/,
    ],
    [
      'a resource key',
      () => AgentPrincipals.condition('StringEquals', 'aws:ResourceTag/team', ['x']),
      /"aws:ResourceTag\/team" is not a global condition key that describes the principal/,
    ],
  ])('AgentPrincipals fails when given %s', (_label, make, message) => {
    const error = errorOf(make);
    expect(error.kind).toBe(GuardrailsErrorKind.INVALID_PROPS);
    expect(error.message).toMatch(message);
    expect(error.fix).toBeTruthy();
  });

  test('the allow-lists let agents assume and pass exactly the listed roles', () => {
    const deployer = 'arn:aws:iam::123456789012:role/sandbox-deployer';
    const rendered = renderOrganizationPolicies({ allowedAssumeRoles: [deployer], allowedPassRoles: [deployer], serviceControlPolicies: 3 });
    const scps = documents(rendered.serviceControlPolicies);
    const rcps = documents(rendered.resourceControlPolicies);
    for (const action of ['sts:AssumeRole', 'iam:PassRole']) {
      expect(evaluateUnder(scps, { action, resource: deployer, agent: true })).toBe('Allowed');
      expect(evaluateUnder(scps, { action, resource: 'arn:aws:iam::123456789012:role/admin', agent: true })).toBe('ExplicitlyDenied');
    }
    expect(evaluateUnder(rcps, { action: 'sts:AssumeRole', resource: deployer, agent: true })).toBe('Allowed');
    expect(evaluateUnder(rcps, { action: 'sts:AssumeRole', resource: 'arn:aws:iam::123456789012:role/admin', agent: true })).toBe('ExplicitlyDenied');
  });
});
