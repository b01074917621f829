/**
 * GuardAgents: it guards every agent role the pack finds, changes nothing else, and is idempotent.
 * Security claims are proven by evaluating the synthesized policies with the IAM simulator.
 */
import { Annotations as AssertAnnotations, Match } from 'aws-cdk-lib/assertions';
import { App, Aspects, Aws, Fn, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AgentRole } from '../../lib/guard/agent-role';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { GUARD_AGENTS_ANNOTATIONS, GuardAgents } from '../../lib/guard/guard-agents';
import { ProductionScope } from '../../lib/guard/production-scope';
import { EffectivePolicies, effectivePolicies, exportsOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, physicalName } from '../support/template-resolver';
import { cdkInitContext } from '../verify/cdk-init-context';

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly role: iam.Role;
  readonly orders: dynamodb.TableV2;
  readonly audit: dynamodb.TableV2;
}

/** A production stack with two tables and a role; `configure` adds the role's grants. */
function build(roleProps: Partial<iam.RoleProps> = {}, configure: (b: Built) => void = () => undefined): Built {
  const app = new App({ context: cdkInitContext() });
  const stack = new Stack(app, 'Prod', { env: { account: ACCOUNT, region: REGION } });
  Tags.of(stack).add('environment', 'production');
  const table = (id: string) =>
    new dynamodb.TableV2(stack, id, {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  const orders = table('Orders');
  const audit = table('Audit');
  const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'), ...roleProps });
  const built = { app, stack, role, orders, audit };
  configure(built);
  return built;
}

function synth(b: Built): { template: Template; policies: EffectivePolicies } {
  const assembly = b.app.synth();
  const template = assembly.getStackByName(b.stack.stackName).template as Template;
  const roleId = b.stack.getLogicalId(b.role.node.defaultChild as iam.CfnRole);
  return { template, policies: effectivePolicies(template, roleId, exportsOf(assembly.stacks.map((s) => s.template as Template))) };
}

const tableArn = (b: Built, table: dynamodb.TableV2) =>
  `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physicalName(b.stack.getLogicalId(table.node.defaultChild as dynamodb.CfnGlobalTable))}`;
const production = { environment: 'production' };
const admin = { managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')] };

describe('GuardAgents on a plain agent role with AdministratorAccess', () => {
  test('before: the agent can delete a production table; after: it cannot, nor pass or assume roles', async () => {
    // GIVEN a Bedrock agent role with AdministratorAccess
    const unguarded = build(admin);
    const before = synth(unguarded);
    await expect(
      decide(before.policies, { action: 'dynamodb:DeleteTable', resource: tableArn(unguarded, unguarded.orders), tags: production }),
    ).resolves.toBe('Allowed');

    // WHEN GuardAgents is applied to the app
    const guarded = build(admin, (b) => Aspects.of(b.app).add(new GuardAgents()));
    const after = synth(guarded);

    // THEN the same requests are explicitly denied, under their real request context
    for (const table of [guarded.orders, guarded.audit]) {
      await expect(decide(after.policies, { action: 'dynamodb:DeleteTable', resource: tableArn(guarded, table), tags: production })).resolves.toBe(
        'ExplicitlyDenied',
      );
      await expect(decide(after.policies, { action: 'dynamodb:DeleteItem', resource: tableArn(guarded, table), tags: production })).resolves.toBe(
        'ExplicitlyDenied',
      );
      await expect(decide(after.policies, { action: 'dynamodb:DeleteTable', resource: tableArn(guarded, table), tags: {} })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
    await expect(
      decide(after.policies, { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role` }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(decide(after.policies, { action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/any-admin` })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decide(after.policies, { action: 'iam:DetachRolePolicy', resource: `arn:aws:iam::${ACCOUNT}:role/agent` })).resolves.toBe(
      'ExplicitlyDenied',
    );
    // and the permissions boundary carries the denies too
    expect(after.policies.permissionsBoundary).toBeDefined();
    // what is not destructive still works
    await expect(decide(after.policies, { action: 'dynamodb:GetItem', resource: tableArn(guarded, guarded.orders), tags: production })).resolves.toBe(
      'Allowed',
    );
  });

  test('an explicit resource-scoped grant keeps its data-level deletes on exactly that table', async () => {
    // GIVEN an agent with AdministratorAccess (so that only the guard decides), granted read/write
    // data explicitly on the orders table, and nothing explicit on the audit table
    const b = build(admin, (built) => {
      built.orders.grantReadWriteData(built.role);
      Aspects.of(built.app).add(new GuardAgents());
    });
    const { policies } = synth(b);
    // THEN item deletes on the granted table still work; on any other production table they are denied
    await expect(decide(policies, { action: 'dynamodb:DeleteItem', resource: tableArn(b, b.orders), tags: production })).resolves.toBe('Allowed');
    await expect(decide(policies, { action: 'dynamodb:DeleteItem', resource: tableArn(b, b.audit), tags: production })).resolves.toBe(
      'ExplicitlyDenied',
    );
    // and destroying the granted table itself is never carved out
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: tableArn(b, b.orders), tags: production })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });

  test("the pack's guard rules pass after GuardAgents", () => {
    const b = build(admin, (built) => Aspects.of(built.app).add(new GuardAgents()));
    b.app.synth();
    const names = new AgentGuardrailsChecks(b.app).validateScope(b.app).violations.map((v) => v.ruleName);
    for (const id of ['AG1', 'AG2', 'AG5', 'AG6']) {
      expect(names.filter((n) => n.startsWith(`AgentGuardrails-${id}`))).toEqual([]);
    }
    // what GuardAgents does not change is still reported
    expect(names).toContain('AgentGuardrails-AG4[Policy::AdministratorAccess]');
  });
});

describe('GuardAgents changes nothing else', () => {
  test('a role that is not an agent is left exactly as it was', () => {
    const lambdaRole = { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), ...admin };
    const without = synth(build(lambdaRole)).template;
    const withAspect = synth(build(lambdaRole, (b) => Aspects.of(b.app).add(new GuardAgents()))).template;
    expect(withAspect).toEqual(without);
  });

  test('an AgentRole is left exactly as it was', () => {
    const withAgentRole = (aspect: boolean) => {
      const app = new App({ context: cdkInitContext() });
      const stack = new Stack(app, 'Agent', { env: { account: ACCOUNT, region: REGION } });
      new AgentRole(stack, 'Ops', { agentName: 'ops', assumedBy: new iam.AccountRootPrincipal() });
      if (aspect) Aspects.of(app).add(new GuardAgents());
      return app.synth().getStackByName('Agent').template;
    };
    expect(withAgentRole(true)).toEqual(withAgentRole(false));
  });

  test('applied twice, the template is the same as applied once', () => {
    const once = synth(build(admin, (b) => Aspects.of(b.app).add(new GuardAgents()))).template;
    const twice = synth(
      build(admin, (b) => {
        Aspects.of(b.app).add(new GuardAgents());
        Aspects.of(b.stack).add(new GuardAgents({ production: ProductionScope.taggedOnly() }));
      }),
    ).template;
    expect(twice).toEqual(once);
  });

  test("only guardrail resources are added; the role's own grants, trust and other resources are unchanged", () => {
    const plain = synth(build(admin, (b) => b.orders.grantReadData(b.role))).template;
    const guarded = synth(
      build(admin, (b) => {
        b.orders.grantReadData(b.role);
        Aspects.of(b.app).add(new GuardAgents());
      }),
    ).template;
    for (const [id, resource] of Object.entries(plain.Resources)) {
      if (resource.Type === 'AWS::IAM::Role') {
        const { ManagedPolicyArns: _m, PermissionsBoundary: _p, Tags: _t, ...rest } = guarded.Resources[id].Properties;
        const { ManagedPolicyArns: m0, Tags: _t0, ...rest0 } = resource.Properties;
        expect(rest).toEqual(rest0);
        // the role keeps its own managed policies, in front of the guard's
        expect(guarded.Resources[id].Properties.ManagedPolicyArns.slice(0, m0.length)).toEqual(m0);
      } else {
        expect(guarded.Resources[id]).toEqual(resource);
      }
    }
    const added = Object.keys(guarded.Resources).filter((id) => !plain.Resources[id]);
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((id) => guarded.Resources[id].Type === 'AWS::IAM::ManagedPolicy')).toBe(true);
  });
});

describe('GuardAgents and an existing permissions boundary', () => {
  test("keeps it (replacing it could widen the role), says so, and still denies through the role's policies", async () => {
    // GIVEN an agent role whose boundary allows everything
    const b = build({ ...admin, permissionsBoundary: iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess') }, (built) =>
      Aspects.of(built.app).add(new GuardAgents()),
    );
    const { template, policies } = synth(b);
    // THEN the boundary is the one the role had
    const roleId = b.stack.getLogicalId(b.role.node.defaultChild as iam.CfnRole);
    expect(JSON.stringify(template.Resources[roleId].Properties.PermissionsBoundary)).toContain('AdministratorAccess');
    // AND an annotation reports it
    AssertAnnotations.fromStack(b.stack).hasWarning('/Prod/Agent', Match.stringLikeRegexp('kept the existing permissions boundary'));
    // AND destruction of production is still denied by the guard on the role
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: tableArn(b, b.orders), tags: production })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });
});

describe('GuardAgents finds agents as the pack does', () => {
  test('a role tagged guardrails:agent, and a role named in agentRoles, are guarded', async () => {
    const tagged = build({ assumedBy: new iam.AccountRootPrincipal(), ...admin }, (b) => {
      Tags.of(b.role).add('guardrails:agent', 'ci-bot');
      Aspects.of(b.app).add(new GuardAgents());
    });
    await expect(
      decide(synth(tagged).policies, { action: 'dynamodb:DeleteTable', resource: tableArn(tagged, tagged.orders), tags: production }),
    ).resolves.toBe('ExplicitlyDenied');

    const named = build({ assumedBy: new iam.AccountRootPrincipal(), ...admin }, (b) =>
      Aspects.of(b.app).add(new GuardAgents({ agentRoles: [b.role] })),
    );
    await expect(
      decide(synth(named).policies, { action: 'dynamodb:DeleteTable', resource: tableArn(named, named.orders), tags: production }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('fails closed: a role whose trust principal is only known at deploy time is guarded, with a warning', async () => {
    const b = build(admin, (built) => Aspects.of(built.app).add(new GuardAgents()));
    // GIVEN a second role trusted by a service whose name CloudFormation computes
    const service = Fn.join('', [Aws.STACK_NAME, '.amazonaws.com']);
    const unknown = new iam.Role(b.stack, 'Unknown', { assumedBy: new iam.ServicePrincipal(service), ...admin });
    const assembly = b.app.synth();
    const template = assembly.getStackByName(b.stack.stackName).template as Template;
    // THEN it is guarded like an agent
    const policies = effectivePolicies(template, b.stack.getLogicalId(unknown.node.defaultChild as iam.CfnRole));
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: tableArn(b, b.orders), tags: production })).resolves.toBe(
      'ExplicitlyDenied',
    );
    AssertAnnotations.fromStack(b.stack).hasWarning('/Prod/Unknown', Match.stringLikeRegexp('could not decide whether it is an agent'));
  });

  test('a CfnRole without an iam.Role cannot be guarded: it is reported, and the pack still fails it', () => {
    const app = new App({ context: cdkInitContext() });
    const stack = new Stack(app, 'L1', { env: { account: ACCOUNT, region: REGION } });
    new iam.CfnRole(stack, 'Raw', {
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'bedrock.amazonaws.com' } }],
      },
    });
    Aspects.of(app).add(new GuardAgents());
    app.synth();
    AssertAnnotations.fromStack(stack).hasWarning('/L1/Raw', Match.stringLikeRegexp('cannot guard'));
    expect(new AgentGuardrailsChecks(app).validateScope(app).violations.map((v) => v.ruleName)).toContain('AgentGuardrails-AG1');
    expect(GUARD_AGENTS_ANNOTATIONS.notARole).toBe('cdk-agent-guardrails:guard-agents:l1-role');
  });
});

describe('GuardAgents on a role it does not detect (issue 12)', () => {
  /** A plain role assumed by a person or a runner, with AdministratorAccess: the most common agent role. */
  const byPeople = (configure: (b: Built) => void = () => undefined) =>
    build({ ...admin, assumedBy: new iam.AccountRootPrincipal() }, configure);

  test('fails when it is silent: it warns on the role and says it guarded nothing, pointing to agentRoles / agentRolePaths', async () => {
    // GIVEN a role assumed by the account's people and runners, with AdministratorAccess, and GuardAgents
    const built = byPeople((b) => Aspects.of(b.app).add(new GuardAgents()));
    // WHEN the app is synthesized
    const { policies } = synth(built);
    // THEN the role is not guarded: it can still delete the production table (IAM's evaluation)
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: tableArn(built, built.orders), tags: production })).resolves.toBe(
      'Allowed',
    );
    // AND the user is told, on the role and on the stack, with how to name it
    const annotations = AssertAnnotations.fromStack(built.stack);
    annotations.hasWarning(
      '/Prod/Agent',
      Match.stringLikeRegexp('did not guard Prod/Agent: .*broad write access \\(AdministratorAccess\\).*arn:.*:root.*agentRoles.*agentRolePaths'),
    );
    annotations.hasWarning('/Prod', Match.stringLikeRegexp('GuardAgents found no agent role to guard.*agentRoles.*agentRolePaths'));
  });

  test('named in agentRoles, the same role is guarded: the delete is explicitly denied and no warning remains', async () => {
    const built = byPeople((b) => Aspects.of(b.app).add(new GuardAgents({ agentRoles: [b.role] })));
    const { policies } = synth(built);
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: tableArn(built, built.orders), tags: production })).resolves.toBe(
      'ExplicitlyDenied',
    );
    const annotations = AssertAnnotations.fromStack(built.stack);
    annotations.hasNoWarning('*', Match.stringLikeRegexp('did not guard|found no agent role'));
  });

  test('a CI runner role (GitHub OIDC) with PowerUserAccess is reported too', () => {
    const built = build({
      assumedBy: new iam.WebIdentityPrincipal(`arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
    });
    Aspects.of(built.app).add(new GuardAgents());
    synth(built);
    AssertAnnotations.fromStack(built.stack).hasWarning(
      '/Prod/Agent',
      Match.stringLikeRegexp('PowerUserAccess.*token.actions.githubusercontent.com'),
    );
  });

  test('no warning for a detected agent, nor for a narrow role assumed by people', () => {
    const agent = build(admin, (b) => Aspects.of(b.app).add(new GuardAgents()));
    synth(agent);
    AssertAnnotations.fromStack(agent.stack).hasNoWarning('*', Match.stringLikeRegexp('did not guard|found no agent role'));
    const narrow = build({ assumedBy: new iam.AccountRootPrincipal() }, (b) => {
      b.orders.grantReadData(b.role);
      new iam.Role(b.stack, 'BedrockAgent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com') });
      Aspects.of(b.app).add(new GuardAgents());
    });
    synth(narrow);
    AssertAnnotations.fromStack(narrow.stack).hasNoWarning('*', Match.stringLikeRegexp('did not guard|found no agent role'));
  });
});

describe('production-resource discovery compares tag keys as IAM does (issue 12)', () => {
  test('fails when Environment=Production is missed: the tagged-only guard denies deleting that bucket', async () => {
    // GIVEN an untagged stack whose bucket is tagged Environment=Production (key capitalised), and a Bedrock agent
    const app = new App({ context: cdkInitContext() });
    const stack = new Stack(app, 'Data', { env: { account: ACCOUNT, region: REGION } });
    const bucket = new s3.Bucket(stack, 'Archive', { bucketName: 'orders-archive' });
    Tags.of(bucket).add('Environment', 'Production');
    const role = new iam.Role(stack, 'Agent', { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'), ...admin });
    // WHEN GuardAgents guards it with the tagged-only scope
    Aspects.of(app).add(new GuardAgents({ production: ProductionScope.taggedOnly() }));
    const assembly = app.synth();
    const template = assembly.getStackByName('Data').template as Template;
    const policies = effectivePolicies(template, stack.getLogicalId(role.node.defaultChild as iam.CfnRole), {});
    // THEN s3:DeleteBucket, whose request context carries no bucket tags, is denied on that bucket by its ARN
    await expect(
      decide(policies, { action: 's3:DeleteBucket', resource: 'arn:aws:s3:::orders-archive', tags: { Environment: 'Production' } }),
    ).resolves.toBe('ExplicitlyDenied');
  });
});
