import { App, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { EffectivePolicies, effectivePolicies } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { ACCOUNT, REGION, Template, physicalName } from '../support/template-resolver';

const PROD = { environment: 'production' };
const RUNNER = `arn:aws:iam::${ACCOUNT}:role/build-runner`;

/** The managed policies of a template whose statements include a Sid starting with the prefix. */
function policiesWithSid(template: Template, prefix: string): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy')
    .filter(([, r]) => (r.Properties.PolicyDocument.Statement as Array<{ Sid?: string }>).some((s) => s.Sid?.startsWith(prefix)))
    .map(([id]) => id);
}

describe('agents of one stack share the guard documents they have in common, and only those', () => {
  let template: Template;
  let policies: Record<string, EffectivePolicies>;
  let managedArns: Record<string, unknown[]>;
  let orders: string;
  let ledger: string;

  beforeAll(() => {
    // GIVEN one stack with two production tables and four agents, each also given AdministratorAccess:
    // the second carves item deletes out of the data-level deny (grantReadWriteData), the others grant reads
    // only; the fourth may pass one role. The carve-out is granted after the first agent exists.
    const app = new App();
    const stack = new Stack(app, 'Agents', { env: { account: ACCOUNT, region: REGION } });
    Tags.of(stack).add('environment', 'production');
    const ordersTable = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const ledgerTable = new dynamodb.Table(stack, 'Ledger', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const agent = (id: string, allowedPassRoles?: string[]) =>
      new AgentRole(stack, id, { agentName: id.toLowerCase(), assumedBy: new iam.AccountRootPrincipal(), allowedPassRoles });
    const reader = agent('Reader');
    const writer = agent('Writer');
    const auditor = agent('Auditor');
    const deployer = agent('Deployer', [RUNNER]);
    ordersTable.grantReadData(reader);
    ordersTable.grantReadWriteData(writer);
    ledgerTable.grantReadData(auditor);
    ledgerTable.grantReadData(deployer);
    for (const a of [reader, writer, auditor, deployer]) a.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    template = app.synth().getStackByName('Agents').template as Template;
    const roles = { reader, writer, auditor, deployer };
    const roleId = (a: AgentRole) => stack.getLogicalId(a.node.defaultChild as iam.CfnRole);
    policies = Object.fromEntries(Object.entries(roles).map(([name, a]) => [name, effectivePolicies(template, roleId(a))]));
    managedArns = Object.fromEntries(
      Object.entries(roles).map(([name, a]) => [name, template.Resources[roleId(a)].Properties.ManagedPolicyArns as unknown[]]),
    );
    const tableArn = (t: dynamodb.Table) =>
      `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physicalName(stack.getLogicalId(t.node.defaultChild as dynamodb.CfnTable))}`;
    orders = tableArn(ordersTable);
    ledger = tableArn(ledgerTable);
  });

  test('agents attach the same shared guard policies; each keeps its own data-level deny; allow-lists keep their own escalation denies', () => {
    // THEN every agent has a data-level deny of its own (its carve-outs are its own)
    expect(policiesWithSid(template, 'DenyDataDeletesOnProduction')).toHaveLength(4);
    // and the reader, writer and auditor attach the same policies except that one
    const readers = new Set(managedArns.reader.map((arn) => JSON.stringify(arn)));
    const sameAsReader = (name: string) => managedArns[name].filter((arn) => readers.has(JSON.stringify(arn)));
    for (const name of ['writer', 'auditor']) expect(sameAsReader(name)).toHaveLength(managedArns[name].length - 1);
    // the deployer, whose escalation denies name its pass-role allow-list, shares the destruction denies only
    expect(policiesWithSid(template, 'DenyPassRoleOutsideAllowList')).toHaveLength(2);
    expect(sameAsReader('deployer').length).toBeLessThan(managedArns.deployer.length - 1);
  });

  test("the writer's carve-out reaches no other agent: item deletes on the granted table stay denied to the readers", async () => {
    await expect(decide(policies.writer, { action: 'dynamodb:DeleteItem', resource: orders, tags: PROD })).resolves.toBe('Allowed');
    for (const name of ['reader', 'auditor', 'deployer']) {
      await expect(decide(policies[name], { action: 'dynamodb:DeleteItem', resource: orders, tags: PROD })).resolves.toBe('ExplicitlyDenied');
    }
    // WHEN the writer deletes items of the table it was not granted THEN the guard denies it too
    await expect(decide(policies.writer, { action: 'dynamodb:DeleteItem', resource: ledger, tags: PROD })).resolves.toBe('ExplicitlyDenied');
  });

  test('fails when an agent passes a role outside its own allow-list: the escalation denies are kept per allow-list', async () => {
    await expect(decide(policies.deployer, { action: 'iam:PassRole', resource: RUNNER })).resolves.toBe('Allowed');
    for (const name of ['reader', 'writer', 'auditor']) {
      await expect(decide(policies[name], { action: 'iam:PassRole', resource: RUNNER })).resolves.toBe('ExplicitlyDenied');
    }
  });

  test('fails when the shared documents lose a deny: destruction and escalation stay denied to every agent', async () => {
    for (const name of ['reader', 'writer', 'auditor', 'deployer']) {
      await expect(decide(policies[name], { action: 'dynamodb:DeleteTable', resource: orders, tags: PROD })).resolves.toBe('ExplicitlyDenied');
      await expect(decide(policies[name], { action: 'iam:CreateAccessKey', resource: `arn:aws:iam::${ACCOUNT}:user/alice` })).resolves.toBe(
        'ExplicitlyDenied',
      );
    }
  });
});
