import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { ApprovalGate, ApprovalGateProps, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { KNOWN_BINDINGS } from '../../lib/approval-gate/runtime/approval-binding';
import { PROD_DB } from './gate-fixture';

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf';

function build(props: Partial<ApprovalGateProps>, configure?: (stack: Stack, gate: ApprovalGate, agent: AgentRole) => void): void {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'us-east-1' } });
  const agent = new AgentRole(stack, 'Agent', { agentName: 'ops-assistant', assumedBy: new iam.AccountRootPrincipal() });
  const lead = new iam.Role(stack, 'Lead', { assumedBy: new iam.AccountRootPrincipal() });
  const gate = new ApprovalGate(stack, 'Gate', {
    operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
    approvers: [Approver.role(lead)],
    ...props,
  });
  configure?.(stack, gate, agent);
}

describe('ApprovalGate refuses bad input at synth time', () => {
  test('fails when no operations are given', () => {
    expect(() => build({ operations: [] })).toThrow(/no operations given.*GatedOperation\.of/);
  });

  test.each([
    ['a wildcard action', { service: 'rds', action: 'Delete*', resources: [PROD_DB] }, /wildcard actions cannot be gated.*Name one API action/],
    ['a single-character wildcard', { service: 'rds', action: 'DeleteDBInstanc?', resources: [PROD_DB] }, /wildcard actions cannot be gated/],
    ['an action that does not exist', { service: 'rds', action: 'DeleteDatabase', resources: [PROD_DB] }, /"rds:DeleteDatabase".*no such action/],
    [
      'a service that does not exist',
      { service: 'rdss', action: 'DeleteDBInstance', resources: [PROD_DB] },
      /service "rdss" is not an AWS service prefix/,
    ],
    ['no resources', { service: 'rds', action: 'DeleteDBInstance', resources: [] }, /no resources given/],
    ['Resource "*"', { service: 'rds', action: 'DeleteDBInstance', resources: ['*'] }, /resource "\*" is not an ARN/],
    [
      'every resource of the type',
      { service: 'rds', action: 'DeleteDBInstance', resources: ['arn:aws:rds:us-east-1:123456789012:db:*'] },
      /matches every resource of its type/,
    ],
    [
      'an action without resource-level permissions',
      { service: 's3', action: 'ListAllMyBuckets', resources: ['arn:aws:s3:::prod-data'] },
      /supports no resource-level permissions/,
    ],
  ])('fails when an operation names %s', (_what, options, message) => {
    expect(() => GatedOperation.of(options)).toThrow(message);
  });

  test('fails when an operation has no known binding from its parameters to its resource, and none is given', () => {
    // GIVEN an action whose identifier parameter the library does not know
    expect(() => GatedOperation.of({ service: 'secretsmanager', action: 'DeleteSecret', resources: [SECRET] })).toThrow(
      /"secretsmanager:DeleteSecret": no known binding from the request's parameters to the resource.*Give resourceArn/,
    );
    // and the example it suggests is of the action's own service and resource type (from the IAM data), not another's
    try {
      GatedOperation.of({ service: 'secretsmanager', action: 'DeleteSecret', resources: [SECRET] });
    } catch (e: any) {
      expect(e.fix).toContain("resourceArn: 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:{SecretId}'");
      expect(e.message).not.toMatch(/rds/);
    }
    expect.assertions(3);
  });

  test.each([
    ['the same service prefix', 'rds:DeleteDBInstance', /Give action "DeleteDBInstance" with service "rds"/, "action: 'DeleteDBInstance'"],
    ['another service prefix', 'ec2:TerminateInstances', /without its prefix/, "service: 'ec2', action: 'TerminateInstances'"],
  ])('fails when the action repeats %s ("rds:rds:..." would be looked up), saying how to write it', (_what, action, message, fix) => {
    // GIVEN issue 12 item 7: action 'rds:DeleteDBInstance' with service 'rds'
    const make = () => GatedOperation.of({ service: 'rds', action, resources: [PROD_DB] });
    expect(make).toThrow(message);
    try {
      make();
    } catch (e: any) {
      expect(e.code).toBe('GatedOperation.ActionWithServicePrefix');
      expect(e.fix).toContain(fix);
      expect(e.message).not.toMatch(/no such action/);
    }
  });

  test('accepts such an operation with an explicit binding, and the gate synthesizes', () => {
    const op = GatedOperation.of({ service: 'secretsmanager', action: 'DeleteSecret', resources: [SECRET], resourceArn: '{SecretId}' });
    expect(op.resourceArn).toBe('{SecretId}');
    expect(() => build({ operations: [op] })).not.toThrow();
  });

  test.each([
    ['no placeholder', { resourceArn: SECRET }, /names no parameter/],
    ['not an ARN', { resourceArn: 'secret:{SecretId}' }, /is not an ARN template/],
    ['a quote', { resourceArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:'{SecretId}" }, /contains a brace, quote, backslash/],
    ['a stray brace', { resourceArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:{SecretId}}' }, /contains a brace/],
    ['adjacent placeholders', { resourceArn: 'arn:aws:s3:::{Bucket}{Key}' }, /adjacent placeholders/],
    [
      'name-or-ARN with two placeholders',
      { resourceArn: 'arn:aws:s3:::{Bucket}/{Key}', resourceParameterAcceptsArn: true },
      /exactly one placeholder/,
    ],
  ])('fails when resourceArn has %s', (_what, binding, message) => {
    expect(() => GatedOperation.of({ service: 'secretsmanager', action: 'DeleteSecret', resources: [SECRET], ...binding })).toThrow(message);
  });

  test('every known binding is for a real action with resource-level permissions, and reads at least one parameter', () => {
    for (const [action, binding] of Object.entries(KNOWN_BINDINGS)) {
      const [service, name] = action.split(':');
      expect(() => GatedOperation.of({ service, action: name, resources: ['arn:aws:s3:::example-resource'] })).not.toThrow();
      expect(binding.resourceArn).toMatch(/\{[A-Za-z]\w*\}/);
    }
  });

  test('fails when the same operation is gated twice', () => {
    const op = () => GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] });
    expect(() => build({ operations: [op(), op()] })).toThrow(/given twice/);
  });

  test('fails when no approvers are given', () => {
    expect(() => build({ approvers: [] })).toThrow(/no approvers given/);
  });

  test.each([
    [Duration.seconds(30), /30 seconds is out of range/],
    [Duration.days(365), /31536000 seconds is out of range.*one year/],
  ])('fails when the timeout is %s', (timeout, message) => {
    expect(() => build({ timeout })).toThrow(message);
  });

  test('fails when requiredApprovals is larger than the number of approvers', () => {
    expect(() => build({ requiredApprovals: 2 })).toThrow(/requiredApprovals is 2 but only 1 approver\(s\) are named/);
  });

  test.each([0, 1.5])('fails when requiredApprovals is %s', (requiredApprovals) => {
    expect(() => build({ requiredApprovals })).toThrow(/requiredApprovals must be a whole number/);
  });

  test('fails when an agent role is named as an approver', () => {
    expect(() =>
      build({}, (stack) => {
        const other = new AgentRole(stack, 'Other', { agentName: 'other-agent', assumedBy: new iam.AccountRootPrincipal() });
        new ApprovalGate(stack, 'Gate2', {
          operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
          approvers: [Approver.role(other)],
        });
      }),
    ).toThrow(/is an agent role \(other-agent\)\. An agent never approves/);
  });

  test('fails when the requester is also an approver', () => {
    expect(() => {
      const stack = new Stack(new App(), 'S');
      const both = new iam.Role(stack, 'Both', { assumedBy: new iam.AccountRootPrincipal() });
      const gate = new ApprovalGate(stack, 'Gate', {
        operations: [GatedOperation.of({ service: 'rds', action: 'DeleteDBInstance', resources: [PROD_DB] })],
        approvers: [Approver.role(both)],
      });
      gate.grantRequest(both);
    }).toThrow(/both an approver and a requester/);
  });

  test('fails when an approver email is not an address', () => {
    expect(() => build({ approverEmails: ['security-team'] })).toThrow(/"security-team", which is not an email address/);
  });

  test('accepts a valid gate (the checks above are not refusing everything)', () => {
    expect(() => build({ requiredApprovals: 1, timeout: Duration.hours(8), approverEmails: ['security@example.com'] })).not.toThrow();
  });
});
