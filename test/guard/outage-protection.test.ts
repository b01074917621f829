import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { ProductionProtection, ProductionScope } from '../../lib';
import { ACTION_CLASS_MEMBERS, CODE_EXECUTION_ACTIONS } from '../../lib/shared/action-classes.generated';
import { HARMFUL_ACTION_CLASSES } from '../../lib/shared/action-classes';
import { BOUNDARY_CREATION_PATTERNS, BOUNDARY_READ_EXCEPTIONS } from '../../lib/shared/boundary-allow-list.generated';
import { NEVER_ALLOWED_SERVICES, OWNED_RESOURCE_CHANGES } from '../../lib/guard/private/outage-statements';
import { ESCALATION_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { actionDetails, wildcardRegex } from '../../lib/shared/iam-data';
import { carriesResourceTags } from '../../lib/verify/analysis/request-context';
import { SynthesizedAgent, synthAgent, withAdministratorAccess } from '../support/fixtures';
import { sampleArn } from '../support/request-context';
import { decide, decideOnSample } from '../support/simulate';
import { ACCOUNT, REGION } from '../support/template-resolver';
import { evaluate, parsePolicy } from '../../lib/evaluator';
import { OUTAGE_CATALOG } from './outage-catalog';

// The classes of the outage issue: every way to hurt production that is not a plain read.
const HARMFUL = HARMFUL_ACTION_CLASSES;
const harmful = [...new Set(HARMFUL.flatMap((c) => ACTION_CLASS_MEMBERS[c]))].sort();

const NEVER = [...ESCALATION_CATALOG.iamWrites, ...ESCALATION_CATALOG.controlPlaneWrites, ...NEVER_ALLOWED_SERVICES].map((p) => wildcardRegex(p));
// Denied whatever the tag: changes authorized only on a resource the agent owns, and filtering the guardrails' alerts.
// Running code on a disposable resource is denied too: it may hold a stronger identity than the agent.
const DENIED_EVEN_WHEN_DISPOSABLE = [
  ...OWNED_RESOURCE_CHANGES,
  ...CODE_EXECUTION_ACTIONS,
  ...BOUNDARY_READ_EXCEPTIONS,
  'sns:SetSubscriptionAttributes',
  'sns:Unsubscribe',
];
const neverAllowed = (action: string) => NEVER.some((r) => r.test(action)) || DENIED_EVEN_WHEN_DISPOSABLE.includes(action);
const tagAware = (action: string) => {
  const types = actionDetails(action)?.resourceTypes ?? [];
  return types.length > 0 && types.every((t) => carriesResourceTags(action, t.name, false));
};

/**
 * Steps from a resource the agent owns whose damage needs a second authorization in the same call,
 * which IAM evaluates against the production resource (or the stronger role): that one is decided.
 */
const SAME_CALL_DEFENCE: Record<string, { action: string; resource: string }> = {
  // The instance is a resource of ModifyInstanceAttribute too: changing its groups is checked on the production instance.
  'ec2-modify-instance-attribute-groups': { action: 'ec2:ModifyInstanceAttribute', resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0prod` },
  // A processing job runs as the role passed to it: passing a stronger role is the step.
  'sagemaker-create-processing-job': { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/sagemaker-privileged` },
  // CloudFormation creates a disposable stack's resources with the caller's own permissions (forward access
  // sessions): a custom resource reaches a production function only if the agent may invoke it.
  'cloudformation-create-stack': { action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:prod-provider` },
};

/**
 * Decides one step. The simulator cannot match resource types with several ARN formats (API Gateway's
 * HTTP and REST forms); those steps are decided by the library's own evaluator, which the differential
 * tests hold to the simulator, under the same request context.
 */
async function decideStep(agent: SynthesizedAgent, action: string, resource: string, tags: Record<string, string>): Promise<string> {
  try {
    return await decide(agent.policies, { action, resource, tags });
  } catch (e) {
    if (!/no\.resource\.types/.test((e as Error).message)) throw e;
    return evaluate({
      principal: `arn:aws:iam::${ACCOUNT}:role/agent`,
      action,
      resource,
      context: { ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])), 'aws:ResourceAccount': ACCOUNT },
      identityPolicies: agent.policies.identityPolicies.map((p) => p.policy),
      permissionsBoundaries: agent.policies.permissionsBoundary ? [agent.policies.permissionsBoundary.policy] : [],
    });
  }
}

describe('ProductionProtection.readOnly (the default): an AgentRole with AdministratorAccess cannot take production down', () => {
  let admin: SynthesizedAgent;
  beforeAll(() => {
    // GIVEN an agent role with the default protection that someone later gave AdministratorAccess
    admin = synthAgent(withAdministratorAccess);
  });

  test.each([
    ['tagged production', { environment: 'production' }],
    ['untagged', {}],
  ])('every action of every harmful class is denied on a %s resource', async (_label, tags) => {
    expect(harmful.length).toBeGreaterThan(7000);
    // WHEN each action is evaluated on a sample resource of its own type, with the real request context
    const allowed: string[] = [];
    for (const action of harmful) {
      const decision = await decideOnSample(admin.policies, { action, tags });
      if (decision === 'Allowed') allowed.push(action);
    }
    // THEN none is allowed
    expect(allowed).toEqual([]);
  });

  test('every harmful action whose request context carries the tag still works on a disposable resource', async () => {
    // GIVEN the harmful actions whose every resource type puts aws:ResourceTag in the context
    const candidates = harmful.filter((a) => tagAware(a) && !neverAllowed(a));
    expect(candidates.length).toBeGreaterThan(4000);
    const denied: string[] = [];
    for (const [i, action] of candidates.entries()) {
      // WHEN evaluated on a resource tagged as disposable (the tag value's case does not matter)
      const decision = await decideOnSample(admin.policies, { action, tags: { environment: i % 2 ? 'dev' : 'Sandbox' } });
      if (decision !== 'Allowed') denied.push(`${action}: ${decision}`);
    }
    // THEN AdministratorAccess works there
    expect(denied).toEqual([]);
  });

  test('each step of our adversarial outage catalog is denied on production', async () => {
    expect(OUTAGE_CATALOG.length).toBeGreaterThanOrEqual(150);
    const allowed: string[] = [];
    for (const step of OUTAGE_CATALOG) {
      // An action without resource types is authorized against '*' only
      const resource = step.resourceType === '*' ? '*' : step.resourceArn(ACCOUNT, REGION);
      // WHEN the agent runs the step against production, tagged or not; an owned resource may even be tagged disposable
      const contexts: Record<string, string>[] = step.ownedResource
        ? [{ environment: 'production' }, {}, { environment: 'dev' }]
        : [{ environment: 'production' }, {}];
      for (const tags of contexts) {
        const fromOwned = step.ownedResource && tags.environment === 'dev';
        const decision =
          fromOwned && SAME_CALL_DEFENCE[step.id]
            ? await decide(admin.policies, { ...SAME_CALL_DEFENCE[step.id], tags: { environment: 'production' } })
            : await decideStep(admin, step.action, resource, tags);
        if (decision !== 'ExplicitlyDenied' && decision !== 'ImplicitlyDenied')
          allowed.push(`${step.id} (${step.action} on ${JSON.stringify(tags)}): ${decision}`);
      }
    }
    // THEN no step is allowed
    expect(allowed).toEqual([]);
  });

  test('fails when a disposable request tag is attached to a harmful call on production (no tag on the request opens it)', async () => {
    // GIVEN every harmful action, sent with a request tag that says "disposable"
    const disposableRequest = { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'] };
    const allowed: string[] = [];
    // The boundary's own creations are the exception: they make a new resource (the sample's tag then stands for
    // nothing that exists), proven pure in test/shared/boundary-allow-list.test.ts; ec2:RunInstances only uses the
    // production image, subnet and groups (the parts it would take over are denied in the test below)
    const creations = new Set(BOUNDARY_CREATION_PATTERNS);
    for (const action of harmful.filter((a) => !creations.has(a))) {
      for (const tags of [{ environment: 'production' }, {}] as Record<string, string>[]) {
        // WHEN it acts on a production-tagged or untagged resource (context keys the action does not take are left out)
        const decision = await decideOnSample(admin.policies, { action, tags, context: disposableRequest }).catch(() =>
          decideOnSample(admin.policies, { action, tags }),
        );
        if (decision === 'Allowed') allowed.push(`${action} on ${JSON.stringify(tags)}`);
      }
    }
    // THEN none is allowed
    expect(allowed).toEqual([]);
  });

  test.each([
    // a dev stack keeps its stored CloudFormation role (CDK's deploy role is an administrator): updating it runs as that role
    ['cloudformation:UpdateStack', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/DevStack/abc`, { environment: 'dev' }, {}],
    ['cloudformation:ExecuteChangeSet', `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/DevStack/abc`, { environment: 'dev' }, {}],
    // a dev function or instance can hold a role stronger than the agent's
    ['lambda:UpdateFunctionCode', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:dev-provider`, { environment: 'dev' }, {}],
    ['ssm:SendCommand', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0dev`, { environment: 'dev' }, {}],
    // a production function fed by the agent's queue, named only in a condition key
    [
      'lambda:CreateEventSourceMapping',
      '*',
      {},
      {
        'aws:RequestTag/environment': 'dev',
        'aws:TagKeys': ['environment'],
        'lambda:FunctionArn': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:prod-orders`,
      },
    ],
    [
      'ecs:CreateTaskSet',
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-set/prod-cluster/web/ts-1`,
      {},
      {
        'aws:RequestTag/environment': 'dev',
        'aws:TagKeys': ['environment'],
        'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod-cluster`,
        'ecs:service': `arn:aws:ecs:${REGION}:${ACCOUNT}:service/prod-cluster/web`,
      },
    ],
    [
      's3:CreateAccessGrant',
      `arn:aws:s3:${REGION}:${ACCOUNT}:access-grants/default/grant/g1`,
      {},
      { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'], 's3:AccessGrantScope': 's3://prod-bucket/*' },
    ],
    // production traffic sent to the agent's Auto Scaling group (the target group is named in the request only)
    [
      'autoscaling:AttachLoadBalancerTargetGroups',
      `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:1:autoScalingGroupName/dev-asg`,
      { environment: 'dev' },
      { 'autoscaling:TargetGroupARNs': [`arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/prod/1`] },
    ],
    // secondary addresses taken from production interfaces of the same subnet
    ['ec2:AssignPrivateIpAddresses', `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/eni-0dev`, { environment: 'dev' }, {}],
    // a launch that takes over a production interface or capacity reservation
    [
      'ec2:RunInstances',
      `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/eni-0prod`,
      { environment: 'production' },
      { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'] },
    ],
    [
      'ec2:RunInstances',
      `arn:aws:ec2:${REGION}:${ACCOUNT}:capacity-reservation/cr-0prod`,
      { environment: 'production' },
      { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'] },
    ],
    // "reads" that issue credentials of another identity
    ['s3:GetDataAccess', `arn:aws:s3:${REGION}:${ACCOUNT}:access-grants/default`, {}, {}],
    ['ec2:GetPasswordData', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0prod`, { environment: 'production' }, {}],
  ])(
    'fails when the agent uses %s to reach production or a stronger identity (found by the security review)',
    async (action, resource, tags, context) => {
      await expect(decide(admin.policies, { action, resource, tags, context: context as Record<string, string | string[]> })).resolves.not.toBe(
        'Allowed',
      );
    },
  );

  test('creating a resource tagged as disposable works; untagged or production-tagged creation does not', async () => {
    for (const [action, resource] of [
      ['dynamodb:CreateTable', `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/scratch`],
      ['sqs:CreateQueue', `arn:aws:sqs:${REGION}:${ACCOUNT}:scratch`],
      ['ec2:RunInstances', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/*`],
      ['lambda:CreateFunction', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:scratch`],
    ]) {
      const request = (value?: string) =>
        decide(admin.policies, {
          action,
          resource,
          tags: {},
          context: value ? { [`aws:RequestTag/environment`]: value, 'aws:TagKeys': ['environment'] } : {},
        });
      await expect(request('dev')).resolves.toBe('Allowed');
      await expect(request('production')).resolves.not.toBe('Allowed');
      await expect(request()).resolves.not.toBe('Allowed');
    }
  });

  test('fails when a disposable request tag opens an existing production parent (a listener rule, a task of a task definition)', async () => {
    for (const [action, resource] of [
      ['elasticloadbalancing:CreateRule', `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/prod/abc/def`],
      ['ecs:RunTask', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/prod:3`],
    ]) {
      const context = { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'] };
      await expect(decide(admin.policies, { action, resource, tags: { environment: 'production' }, context })).resolves.not.toBe('Allowed');
      await expect(decide(admin.policies, { action, resource, tags: {}, context })).resolves.not.toBe('Allowed');
    }
    // while a new rule on a disposable listener is fine (a task of a disposable task definition is not: running code on a
    // disposable resource is denied, it may hold a stronger role)
    await expect(
      decide(admin.policies, {
        action: 'elasticloadbalancing:CreateRule',
        resource: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/dev/abc/def`,
        tags: { environment: 'dev' },
        context: { 'aws:RequestTag/environment': 'dev', 'aws:TagKeys': ['environment'] },
      }),
    ).resolves.toBe('Allowed');
  });

  test('fails when the agent shadows production DNS or moves a production alias from resources it owns', async () => {
    const owned = { environment: 'dev' };
    await expect(
      decide(admin.policies, { action: 'route53:AssociateVPCWithHostedZone', resource: 'arn:aws:route53:::hostedzone/ZDEV', tags: owned }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(admin.policies, {
        action: 'route53:CreateHostedZone',
        resource: '*',
        context: { 'route53:VPCs': ['vpc-0prod'] },
      }),
    ).resolves.toBe('ExplicitlyDenied');
    await expect(
      decide(admin.policies, { action: 'cloudfront:AssociateAlias', resource: `arn:aws:cloudfront::${ACCOUNT}:distribution/EDEV`, tags: owned }),
    ).resolves.toBe('ExplicitlyDenied');
  });

  test('reads of production still work', async () => {
    for (const action of [
      'ec2:DescribeInstances',
      'dynamodb:GetItem',
      'dynamodb:Query',
      's3:GetObject',
      'logs:GetLogEvents',
      'cloudformation:DescribeStacks',
    ]) {
      await expect(decideOnSample(admin.policies, { action, tags: { environment: 'production' } })).resolves.toBe('Allowed');
    }
  });
});

describe('explicit grants are the only way to change production', () => {
  test('a CDK grant works on exactly its resource and on nothing beside it', async () => {
    // GIVEN an agent with AdministratorAccess granted write access to one production table
    let orders!: dynamodb.Table;
    const { policies, template } = synthAgent((stack, agent) => {
      withAdministratorAccess(stack, agent);
      orders = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      orders.grantWriteData(agent);
    });
    const tableId = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::DynamoDB::Table')!;
    const granted = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableId}`;
    const other = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments`;
    // WHEN the agent writes items
    // THEN it may write the granted table (with the table's real name, resolved from the template)
    const name = (policies.permissionsBoundary as any).policy.Statement.flatMap((s: any) => [s.Resource].flat()).find((r: string) =>
      /:table\//.test(r),
    );
    expect(name).toBeDefined();
    await expect(decide(policies, { action: 'dynamodb:PutItem', resource: name, tags: { environment: 'production' } })).resolves.toBe('Allowed');
    // AND not another production table
    await expect(decide(policies, { action: 'dynamodb:PutItem', resource: other, tags: { environment: 'production' } })).resolves.not.toBe('Allowed');
    // AND not reconfigure or destroy the granted one
    await expect(decide(policies, { action: 'dynamodb:UpdateTable', resource: name, tags: { environment: 'production' } })).resolves.not.toBe(
      'Allowed',
    );
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: name, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    expect(granted).toContain(tableId);
  });

  test('agent.allow() of a disruptive action works on exactly the named instance', async () => {
    const instance = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0granted`;
    const { policies } = synthAgent((stack, agent) => {
      withAdministratorAccess(stack, agent);
      agent.allow({ actions: ['ec2:StopInstances', 'ec2:StartInstances'], resources: [instance] });
    });
    await expect(decide(policies, { action: 'ec2:StopInstances', resource: instance, tags: { environment: 'production' } })).resolves.toBe('Allowed');
    await expect(
      decide(policies, {
        action: 'ec2:StopInstances',
        resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0other`,
        tags: { environment: 'production' },
      }),
    ).resolves.not.toBe('Allowed');
    await expect(decide(policies, { action: 'ec2:TerminateInstances', resource: instance, tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });

  test('a grant on a wildcard resource grants nothing on production', async () => {
    const { policies } = synthAgent((stack, agent) => {
      withAdministratorAccess(stack, agent);
      agent.allowBroad({ actions: ['ec2:StopInstances'], resources: ['*'], justification: 'the agent restarts build machines in the sandbox' });
    });
    await expect(
      decide(policies, { action: 'ec2:StopInstances', resource: sampleArn('ec2:StopInstances'), tags: { environment: 'production' } }),
    ).resolves.not.toBe('Allowed');
    await expect(
      decide(policies, { action: 'ec2:StopInstances', resource: sampleArn('ec2:StopInstances'), tags: { environment: 'sandbox' } }),
    ).resolves.toBe('Allowed');
  });
});

describe('ProductionProtection.noDestructionOnly (weaker, warned)', () => {
  test('fails when no written justification is given', () => {
    expect(() => ProductionProtection.noDestructionOnly('because')).toThrow(/justification of at least 20 characters \(received "because"\)/);
  });

  test('still denies destruction but lets the agent stop production, with a warning', async () => {
    // GIVEN an agent that must keep stopping machines during a migration
    const { policies, agent } = synthAgent(withAdministratorAccess, {
      protection: ProductionProtection.noDestructionOnly('the ops agent restarts instances until the gate bindings are in place'),
    });
    // THEN destruction stays denied, disruption is possible, and the weakness is reported
    await expect(decideOnSample(policies, { action: 'ec2:TerminateInstances', tags: { environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
    await expect(decideOnSample(policies, { action: 'ec2:StopInstances', tags: { environment: 'production' } })).resolves.toBe('Allowed');
    Annotations.fromStack(agent.stack).hasWarning('*', Match.stringLikeRegexp('noDestructionOnly'));
    expect(agent.coverage.protection).toBe('no-destruction');
  });
});

describe('the read-only protection in every scope', () => {
  test.each([
    ['fail closed', ProductionScope.failClosed()],
    ['tagged only', ProductionScope.taggedOnly()],
    ['accounts', ProductionScope.accounts(['123456789012'])],
    ['resources', ProductionScope.resources(['arn:aws:dynamodb:us-east-1:123456789012:table/orders'])],
  ])('synthesizes policies IAM can parse (%s), and production stays out of reach', async (_name, production) => {
    // GIVEN an agent with AdministratorAccess in that scope
    const { policies } = synthAgent(withAdministratorAccess, { production, managedPolicyQuota: 20 });
    // THEN every policy parses (no empty condition keys or values)
    for (const p of [...policies.identityPolicies, ...(policies.permissionsBoundary ? [policies.permissionsBoundary] : [])]) {
      expect(() => parsePolicy(p.policy)).not.toThrow();
      expect(JSON.stringify(p.policy)).not.toMatch(/aws:ResourceTag\/"/);
    }
    // AND stopping the production table's stream or overwriting its items is not allowed
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/orders';
    await expect(decide(policies, { action: 'dynamodb:UpdateTable', resource: table, tags: { environment: 'production' } })).resolves.not.toBe(
      'Allowed',
    );
    await expect(decide(policies, { action: 'dynamodb:PutItem', resource: table, tags: { environment: 'production' } })).resolves.not.toBe('Allowed');
  });
});
