import { Duration, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AgentRole } from '../../lib';
import { ApprovalGate, Approver, GatedOperation } from '../../lib/approval-gate/approval-gate';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { cli, synthTo } from './verify-fixtures';

describe('verify reports what an agent can request through an approval gate, apart from what it can do', () => {
  let dir: string;
  beforeAll(() => {
    // GIVEN a production table whose deletion is gated, an agent allowed to request it, and one that is not
    dir = synthTo((app) => {
      const production = new Stack(app, 'Production');
      Tags.of(production).add('environment', 'production');
      const table = new dynamodb.Table(production, 'Orders', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      const ops = new Stack(app, 'Ops');
      const requester = new AgentRole(ops, 'Requester', { agentName: 'requester', assumedBy: new iam.AccountRootPrincipal() });
      new AgentRole(ops, 'Bystander', { agentName: 'bystander', assumedBy: new iam.AccountRootPrincipal() });
      const lead = new iam.Role(ops, 'SecurityLead', { assumedBy: new iam.AccountRootPrincipal() });
      const gate = new ApprovalGate(ops, 'Gate', {
        operations: [GatedOperation.of({ service: 'dynamodb', action: 'DeleteTable', resources: [table.tableArn] })],
        approvers: [Approver.role(lead)],
        timeout: Duration.hours(1),
      });
      gate.grantRequest(requester);
    }, 'verify-gate-');
  });

  test('the requesting agent can request the gated delete but cannot delete; the other agent can do neither (exit 0)', async () => {
    // WHEN verify reads the app
    const run = await cli('verify', dir, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    expect(run.code).toBe(0);
    const agent = (name: string) => report.agents.find((a) => a.agent === name)!;
    const orders = (name: string) => agent(name).resources.find((r) => r.resource === 'Production/Orders')!;
    // THEN the requester's table row says: gated, not destroyable
    expect(orders('requester').gated).toEqual(['dynamodb:DeleteTable']);
    expect(orders('requester').canDestroy).toEqual([]);
    expect(orders('requester').status).toBe('denied');
    expect(agent('requester').gates).toEqual([
      {
        gate: 'Ops/Gate/Workflow',
        operations: [{ action: 'dynamodb:DeleteTable', resources: [expect.stringMatching(/^arn:aws:dynamodb:.*:table\/Production-Orders/)] }],
      },
    ]);
    // and the agent not granted to request has no gate
    expect(agent('bystander').gates).toEqual([]);
    expect(orders('bystander').gated).toEqual([]);
    // the gate's executor role may delete the table, but it is no agent: not a finding
    expect(report.agents.map((a) => a.agent).sort()).toEqual(['bystander', 'requester']);
  });

  test('the terminal table shows the gated operation in the GUARDED column', async () => {
    const run = await cli('verify', dir);
    expect(run.stdout).toMatch(/requester\s+Production\/Orders\s+guarded\s+nothing\s+\d+ denied; gated: dynamodb:DeleteTable/);
    expect(run.stdout).toContain(
      'requester: can request through approval gate Ops/Gate/Workflow (a human decides): dynamodb:DeleteTable on arn:aws:dynamodb:',
    );
    expect(run.stdout).not.toMatch(/bystander\s+Production\/Orders.*gated/);
  });
});
