/**
 * The library's own constructs pass cdk-nag's AwsSolutionsChecks and the library's
 * AgentGuardrailsChecks with no acknowledgement from the user: what is worth fixing is fixed, and
 * the rest is acknowledged inside the constructs, finding by finding, with a reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ApprovalGate, ApprovalGateProps, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { AuditLockMode, AuditTrail } from '../../lib/audit-trail/audit-trail';
import { AgentGuardrailsChecks } from '../../lib/checks/agent-guardrails-checks';
import { CircuitBreaker, CircuitBreakerProps } from '../../lib/circuit-breaker/circuit-breaker';
import { AgentRole } from '../../lib/guard/agent-role';
import {
  ACKNOWLEDGED_RULES_METADATA_KEY,
  findingIds,
  latestNodeRuntimeName as latestOf,
  MIN_NAG_REASON_LENGTH,
  NAG_CFN_METADATA_KEY,
} from '../../lib/shared/nag-suppressions';
import { ACCOUNT, REGION } from '../support/template-resolver';

const PROD_DB = `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders`;
const PROD_STACK = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Production/*`;
const ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
const latestNodeRuntimeName = () => latestOf(lambda.Runtime.ALL.map((r) => r.name));

interface Guardrails {
  readonly app: App;
  readonly stack: Stack;
  readonly agent: AgentRole;
  readonly gate: ApprovalGate;
  readonly breaker: CircuitBreaker;
  readonly audit: AuditTrail;
}

/**
 * GIVEN an app with one stack holding an AgentRole, an ApprovalGate (with approver emails), a
 * CircuitBreaker and an AuditTrail, built as the production example builds them; the stack keeps
 * termination protection on, as a stack of stateful guardrails should (AgentGuardrails-PR5).
 */
function guardrails(options: { gate?: Partial<ApprovalGateProps>; breaker?: Partial<CircuitBreakerProps> } = {}): Guardrails {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'own-constructs-nag-'));
  const app = new App({ outdir, context: { '@aws-cdk/core:validateAgainstDefaultRules': true } });
  const stack = new Stack(app, 'Guardrails', { env: { account: ACCOUNT, region: REGION }, terminationProtection: true });
  const agent = new AgentRole(stack, 'Agent', {
    agentName: 'ops-assistant',
    assumedBy: new iam.AccountRootPrincipal(),
    sourceIdentityPattern: 'ops-assistant-*',
  });
  const securityLead = new iam.Role(stack, 'SecurityLead', { assumedBy: new iam.AccountRootPrincipal(), roleName: 'security-lead' });
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: [
      GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] }),
      GatedOperation.of({ service: 'cloudformation', action: 'UpdateStack', resources: [PROD_STACK] }),
    ],
    approvers: [Approver.role(securityLead)],
    approverEmails: ['security-lead@example.com'],
    timeout: Duration.hours(4),
    ...options.gate,
  });
  gate.grantRequest(agent);
  const audit = new AuditTrail(stack, 'AuditTrail', { retention: Duration.days(365), lockMode: AuditLockMode.COMPLIANCE });
  const breaker = new CircuitBreaker(stack, 'CircuitBreaker', {
    agents: [{ agent, thresholds: { maxDestructiveCalls: 5, maxDeniedCalls: 10, window: Duration.minutes(5) } }],
    ...options.breaker,
  });
  return { app, stack, agent, gate, breaker, audit };
}

interface Finding {
  readonly pack: string;
  readonly rule: string;
  readonly path: string;
  readonly severity: string;
}

/** Every violation either pack reports on the app (after synthesis: the rules read applied tags). */
function packFindings(app: App): Finding[] {
  const found: Finding[] = [];
  for (const pack of [new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app)]) {
    for (const v of pack.validateScope(app).violations) {
      for (const r of v.violatingResources) {
        found.push({ pack: pack.name, rule: v.ruleName, path: r.constructPath ?? '?', severity: v.severity ?? 'error' });
      }
    }
  }
  return found;
}

const under = (construct: IConstruct) => (f: Finding) => f.path === construct.node.path || f.path.startsWith(`${construct.node.path}/`);
const show = (findings: Finding[]) => findings.map((f) => `${f.severity} ${f.rule} at ${f.path}`);

interface Acknowledgement {
  /** The construct the acknowledgement sits on. */
  readonly path: string;
  /** The acknowledged id as cdk-nag matches it: `Rule` or `Rule[Finding]`. */
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgement in the tree (CDK's metadata, what cdk-nag 3 reads). */
function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === ACKNOWLEDGED && m.data)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** Rules of the packs that report their findings one by one (`Rule[Finding]`). */
const RULES_WITH_FINDINGS = ['AwsSolutions-IAM4', 'AwsSolutions-IAM5'];

describe('an app with an AgentRole, an ApprovalGate, a CircuitBreaker and an AuditTrail', () => {
  let g: Guardrails;
  let template: any;
  beforeAll(() => {
    // synthesized once without the packs (tags applied), for the tests that run the packs directly
    g = guardrails();
    template = g.app.synth().getStackByName(g.stack.stackName).template;
  });

  test('synthesizes with AwsSolutionsChecks, AgentGuardrailsChecks and the default CloudFormation rules as errors, and no finding from any', () => {
    // WHEN both packs run as validation plugins, the user acknowledging nothing
    const { app, stack } = guardrails();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new AgentGuardrailsChecks(app));
    // THEN synthesis succeeds (a violation of error severity would throw here) ...
    const assembly = app.synth();
    // ... no plugin reported a violation of any severity (the report lists only plugins with one) ...
    const reportFile = path.join(assembly.directory, 'validation-report.json');
    const report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf8')) : { pluginReports: [] };
    const violations = (report.pluginReports ?? []).flatMap((p: any) =>
      (p.violations ?? []).map((v: any) => `${p.pluginName}: ${v.severity} ${v.ruleName}`),
    );
    expect(violations).toEqual([]);
    // ... and the stack carries no error or warning annotation
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.anyValue()).map((m) => `${m.id}: ${m.entry.data}`)).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue()).map((m) => `${m.id}: ${m.entry.data}`)).toEqual([]);
  });

  describe('each construct is clean under both packs', () => {
    let findings: Finding[];
    beforeAll(() => {
      findings = packFindings(g.app);
    });

    test('the ApprovalGate', () => expect(show(findings.filter(under(g.gate)))).toEqual([]));
    test('the CircuitBreaker', () => expect(show(findings.filter(under(g.breaker)))).toEqual([]));
    test('the AuditTrail', () => expect(show(findings.filter(under(g.audit)))).toEqual([]));
    test('the AgentRole and the guard policies it shares with other agents of the stack', () =>
      expect(show(findings.filter((f) => under(g.agent)(f) || f.path.startsWith(`${g.stack.node.path}/AgentGuardrailsSharedPolicies/`)))).toEqual(
        [],
      ));
    test('nothing else, CDK-internal constructs included', () => expect(show(findings)).toEqual([]));
  });

  describe('what is fixed rather than acknowledged', () => {
    const resource = (c: IConstruct) => template.Resources[g.stack.getLogicalId(c.node.defaultChild as CfnResource)];
    const ref = (c: IConstruct) => ({ Ref: g.stack.getLogicalId(c.node.defaultChild as CfnResource) });
    const arnOf = (c: IConstruct) => ({ 'Fn::GetAtt': [g.stack.getLogicalId(c.node.defaultChild as CfnResource), 'Arn'] });

    test('the approval workflow logs every transition, without execution data (task tokens, parameters), and is traced', () => {
      const props = resource(g.gate.stateMachine).Properties;
      const logs = g.gate.node.findChild('WorkflowLogs');
      expect(props.LoggingConfiguration).toEqual({
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: arnOf(logs) } }],
      });
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
      const group = resource(logs);
      expect(group.Properties.RetentionInDays).toBe(365);
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.Properties.Tags).toContainEqual({ Key: 'guardrails:component', Value: 'approval-gate' });
    });

    test("the functions' roles carry no AWS managed policy: each writes only to its own log group", () => {
      const functions: Array<[IConstruct, IConstruct]> = [
        [g.gate.node.findChild('ApprovalHandler'), g.gate.node.findChild('ApprovalHandlerLogs')],
        [g.gate.node.findChild('Notifier'), g.gate.node.findChild('NotifierLogs')],
        [g.breaker.handler, g.breaker.node.findChild('HandlerLogs')],
      ];
      for (const [fn, logGroup] of functions) {
        const roleId = resource(fn).Properties.Role['Fn::GetAtt'][0];
        expect([fn.node.path, template.Resources[roleId].Properties.ManagedPolicyArns]).toEqual([fn.node.path, undefined]);
        const statements = Object.values(template.Resources as Record<string, any>)
          .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
          .flatMap((r) => r.Properties.PolicyDocument.Statement);
        const logWrites = statements.filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('logs:')));
        expect(logWrites).toEqual([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: arnOf(logGroup) }]);
      }
    });

    test('publishing to the encrypted alert topic needs exactly kms:GenerateDataKey and kms:Decrypt on its key, no wildcard action', () => {
      const roleId = resource(g.breaker.handler).Properties.Role['Fn::GetAtt'][0];
      const kmsActions = Object.values(template.Resources as Record<string, any>)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
        .flatMap((r) => r.Properties.PolicyDocument.Statement)
        .filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('kms:')));
      expect(kmsActions).toEqual([
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: arnOf(g.breaker.node.findChild('AlertsKey')) },
      ]);
    });

    test('the approval notifications topic is encrypted at rest and takes SSL-only publishing', () => {
      const topic = g.gate.node.findChild('Notifications');
      expect(JSON.stringify(resource(topic).Properties.KmsMasterKeyId)).toMatch(/:kms:[^"]*:alias\/aws\/sns"/);
      const topicPolicy = Object.values(template.Resources as Record<string, any>).find(
        (r) => r.Type === 'AWS::SNS::TopicPolicy' && JSON.stringify(r.Properties.Topics) === JSON.stringify([ref(topic)]),
      );
      expect(topicPolicy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sns:Publish',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    });

    test('the audit log-file bucket has server access logs, into a bucket only S3 logging (for that bucket) writes and agents cannot touch', () => {
      const accessLogs = g.audit.accessLogsBucket!;
      expect(resource(g.audit.bucket!).Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: ref(accessLogs),
        LogFilePrefix: 'audit-log-files/',
      });
      const props = resource(accessLogs).Properties;
      expect(props).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
      expect(props.AccessControl).toBeUndefined();
      expect(resource(accessLogs).DeletionPolicy).toBe('Retain');
      const policy = resource(accessLogs.policy!).Properties.PolicyDocument.Statement;
      expect(policy).toContainEqual(
        expect.objectContaining({
          Sid: 'S3ServerAccessLogsOfTheAuditBucket',
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Condition: { ArnLike: { 'aws:SourceArn': arnOf(g.audit.bucket!) }, StringEquals: { 'aws:SourceAccount': ACCOUNT } },
        }),
      );
      expect(policy).toContainEqual(expect.objectContaining({ Sid: 'DenyAgentsTheAccessLogs', Effect: 'Deny', Action: 's3:*' }));
      expect(policy).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    });
  });

  test('the constructs create no CDK-internal function (log retention, custom resource provider) that would escape review', () => {
    const ofType = (match: (type: string) => boolean) =>
      g.stack.node
        .findAll()
        .filter((c) => c instanceof CfnResource && match(c.cfnResourceType))
        .map((c) => c.node.path);
    const functions = ofType((t) => t === 'AWS::Lambda::Function');
    expect(functions.sort()).toEqual([
      'Guardrails/CircuitBreaker/Handler/Resource',
      'Guardrails/Gate/ApprovalHandler/Resource',
      'Guardrails/Gate/Notifier/Resource',
    ]);
    expect(ofType((t) => t.startsWith('Custom::'))).toEqual([]);
  });

  describe("the acknowledgements are the library's own, each with a reason", () => {
    let acks: Acknowledgement[];
    beforeAll(() => {
      acks = acknowledgementsIn(g.app);
    });

    test("they are written where CDK's Validations.acknowledge writes them (shared/ cannot load the CDK to call it)", () => {
      expect(ACKNOWLEDGED_RULES_METADATA_KEY).toBe(Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
      expect(acks.length).toBeGreaterThan(0);
    });

    test('every reason says why the finding is safe, in at least 40 characters', () => {
      expect(MIN_NAG_REASON_LENGTH).toBeGreaterThanOrEqual(40);
      for (const ack of acks) {
        expect([ack.path, ack.id, ack.reason.trim().length >= MIN_NAG_REASON_LENGTH]).toEqual([ack.path, ack.id, true]);
      }
    });

    test('rules that report findings are acknowledged finding by finding, never as a whole', () => {
      for (const ack of acks.filter((a) => RULES_WITH_FINDINGS.some((r) => a.id === r || a.id.startsWith(`${r}[`)))) {
        expect(ack.id).toMatch(/^AwsSolutions-IAM[45]\[.+\]$/);
      }
    });

    test(
      "exactly these, on the narrowest construct: unscopable actions, the gate's own qualifiers, executions and given patterns, " +
        'a DLQ, the access-log bucket, the default runtime',
      () => {
        const notifier = g.stack.getLogicalId(g.gate.node.findChild('Notifier').node.defaultChild as CfnResource);
        const executions = `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:${g.gate.stateMachineName}:*`;
        const expected = [
          ['Guardrails/Agent', `AwsSolutions-IAM5[Resource::${executions}]`],
          ['Guardrails/Gate/ExecutorRole', `AwsSolutions-IAM5[Resource::${PROD_STACK}]`],
          ['Guardrails/AuditTrail/AccessLogs', 'AwsSolutions-S1'],
          ['Guardrails/CircuitBreaker/DeadLetters', 'AwsSolutions-SQS3'],
          ['Guardrails/Gate/ApprovalHandlerServiceRole', 'AwsSolutions-IAM5[Resource::*]'],
          ['Guardrails/Gate/WorkflowRole', 'AwsSolutions-IAM5[Resource::*]'],
          ['Guardrails/Gate/WorkflowRole', `AwsSolutions-IAM5[Resource::<${notifier}.Arn>:*]`],
          // SNS's AWS managed key is named by its alias: CDK (with cdk init's flags) grants key/* under kms:ResourceAliases
          ['Guardrails/Gate/NotifierServiceRole', `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${REGION}:${ACCOUNT}:key/*]`],
          // the approval handler publishes decision notices itself (same key, same reason)
          ['Guardrails/Gate/ApprovalHandlerServiceRole', `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${REGION}:${ACCOUNT}:key/*]`],
          // reconciliation reads the final state of this workflow's executions (states:DescribeExecution)
          ['Guardrails/Gate/ApprovalHandlerServiceRole', `AwsSolutions-IAM5[Resource::${executions}]`],
          // the reconciliation rule's dead-letter queue is itself the last stop
          ['Guardrails/Gate/ReconciliationDeadLetters', 'AwsSolutions-SQS3'],
        ];
        // The default runtime is acknowledged only while aws-cdk-lib knows a newer Node.js runtime.
        if (latestNodeRuntimeName() !== lambda.Runtime.NODEJS_22_X.name) {
          expected.push(
            ['Guardrails/CircuitBreaker/Handler', 'AwsSolutions-L1'],
            ['Guardrails/Gate/ApprovalHandler', 'AwsSolutions-L1'],
            ['Guardrails/Gate/Notifier', 'AwsSolutions-L1'],
          );
        }
        // The guard's own (the agent's boundary and shared guard policies, below the role) are pinned by the guard's tests.
        const guardOwn = (a: Acknowledgement) =>
          a.path.startsWith(`${g.agent.node.path}/`) || a.path.startsWith(`${g.stack.node.path}/AgentGuardrailsSharedPolicies/`);
        const sortPairs = (pairs: string[][]) => pairs.map((p) => p.join(' ')).sort();
        expect(sortPairs(acks.filter((a) => !guardOwn(a)).map((a) => [a.path, a.id]))).toEqual(sortPairs(expected));
      },
    );

    test('cdk-nag 2 finds them too, in the template metadata (cdk_nag.rules_to_suppress, with applies_to)', () => {
      const suppressions = Object.entries(template.Resources as Record<string, any>).flatMap(([logicalId, r]) =>
        (r.Metadata?.[NAG_CFN_METADATA_KEY]?.rules_to_suppress ?? []).map((suppression: any) => ({ logicalId, suppression })),
      );
      expect(suppressions.length).toBeGreaterThan(0);
      for (const { suppression } of suppressions) {
        expect(Object.keys(suppression).sort()).toEqual(suppression.applies_to ? ['applies_to', 'id', 'reason'] : ['id', 'reason']);
        expect(suppression.reason.length).toBeGreaterThanOrEqual(MIN_NAG_REASON_LENGTH);
        if (RULES_WITH_FINDINGS.includes(suppression.id)) expect(suppression.applies_to.length).toBeGreaterThan(0);
      }
      // the same findings as cdk-nag 3 reads, resource by resource: the workflow role's policy
      const policy = g.stack.getLogicalId(g.gate.stateMachine.role.node.findChild('DefaultPolicy').node.defaultChild as CfnResource);
      const notifier = g.stack.getLogicalId(g.gate.node.findChild('Notifier').node.defaultChild as CfnResource);
      const onPolicy = suppressions
        .filter((s) => s.logicalId === policy)
        .flatMap((s) => findingIds({ id: s.suppression.id, reason: s.suppression.reason, appliesTo: s.suppression.applies_to }));
      expect(onPolicy.sort()).toEqual(['AwsSolutions-IAM5[Resource::*]', `AwsSolutions-IAM5[Resource::<${notifier}.Arn>:*]`].sort());
    });
  });
});

describe('the acknowledgements cover no more than they name', () => {
  test('an action that supports resource-level permissions, granted on "*" to the workflow role, fails synth', () => {
    // GIVEN the gate, and a later grant of a scopable action on "*" to its workflow role
    const g = guardrails();
    g.gate.stateMachine.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:DeleteTable'], resources: ['*'] }));
    // THEN the acknowledgement of Resource::* (meant for the log delivery and X-Ray actions) does not hide it
    expect(() => g.app.synth()).toThrow(
      /dynamodb:DeleteTable are granted on "\*", but the role's acknowledgement of AwsSolutions-IAM5\[Resource::\*\] covers only/,
    );
  });

  test('a runtime the user chose is judged by AwsSolutions-L1: the latest passes without acknowledgement, an older one is reported', () => {
    const latest = latestNodeRuntimeName()!;
    const latestRuntime = lambda.Runtime.ALL.find((r) => r.name === latest)!;
    const current = guardrails({ gate: { lambdaRuntime: latestRuntime }, breaker: { lambdaRuntime: latestRuntime } });
    current.app.synth();
    expect(acknowledgementsIn(current.app).filter((a) => a.id === 'AwsSolutions-L1')).toEqual([]);
    expect(show(packFindings(current.app).filter((f) => f.rule === 'AwsSolutions-L1'))).toEqual([]);

    if (latest !== lambda.Runtime.NODEJS_22_X.name) {
      const older = guardrails({ gate: { lambdaRuntime: lambda.Runtime.NODEJS_22_X }, breaker: { lambdaRuntime: lambda.Runtime.NODEJS_22_X } });
      older.app.synth();
      expect(
        packFindings(older.app)
          .filter((f) => f.rule === 'AwsSolutions-L1')
          .map((f) => f.path)
          .sort(),
      ).toEqual(['Guardrails/CircuitBreaker/Handler/Resource', 'Guardrails/Gate/ApprovalHandler/Resource', 'Guardrails/Gate/Notifier/Resource']);
    }
  });
});

describe('without cdk-nag installed', () => {
  test('the constructs load, build and place their acknowledgements (cdk-nag is an optional peer)', () => {
    jest.isolateModules(() => {
      jest.doMock('cdk-nag', () => {
        throw new Error("Cannot find module 'cdk-nag'");
      });
      /* eslint-disable @typescript-eslint/no-require-imports */
      expect(() => require('cdk-nag')).toThrow(/Cannot find module/);
      const cdk = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
      const iamModule = require('aws-cdk-lib/aws-iam') as typeof import('aws-cdk-lib/aws-iam');
      const { AgentRole: IsolatedAgentRole } = require('../../lib/guard/agent-role') as typeof import('../../lib/guard/agent-role');
      const gates = require('../../lib/approval-gate/approval-gate') as typeof import('../../lib/approval-gate/approval-gate');
      const { CircuitBreaker: IsolatedBreaker } =
        require('../../lib/circuit-breaker/circuit-breaker') as typeof import('../../lib/circuit-breaker/circuit-breaker');
      const { AuditTrail: IsolatedAudit } = require('../../lib/audit-trail/audit-trail') as typeof import('../../lib/audit-trail/audit-trail');
      /* eslint-enable @typescript-eslint/no-require-imports */
      const app = new cdk.App();
      const stack = new cdk.Stack(app, 'NoNag', { env: { account: ACCOUNT, region: REGION } });
      const agent = new IsolatedAgentRole(stack, 'Agent', { agentName: 'ops', assumedBy: new iamModule.AccountRootPrincipal() });
      const approver = new iamModule.Role(stack, 'Approver', { assumedBy: new iamModule.AccountRootPrincipal() });
      const gate = new gates.ApprovalGate(stack, 'Gate', {
        operations: [gates.GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
        approvers: [gates.Approver.role(approver)],
      });
      gate.grantRequest(agent);
      new IsolatedBreaker(stack, 'Breaker', { agents: [{ agent }] });
      new IsolatedAudit(stack, 'Audit');
      app.synth();
      expect(acknowledgementsIn(app).length).toBeGreaterThan(0);
    });
  });
});
