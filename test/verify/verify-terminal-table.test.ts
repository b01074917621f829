import { Construct } from 'constructs';
import { Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { cli, synthTo } from './verify-fixtures';

describe('the terminal table', () => {
  test('fails when two different resources print the same text: long names are shortened apart', async () => {
    // GIVEN two production tables whose construct paths are longer than the column and differ only at their end
    const dir = synthTo((app) => {
      const stack = new Stack(app, 'Production', { env: { account: '123456789012', region: 'us-east-1' } });
      const service = new Construct(stack, 'CustomerOrdersServiceWithAVeryLongName');
      for (const id of ['TableA', 'TableB']) {
        new dynamodb.Table(service, id, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
      }
      new iam.Role(stack, 'Agent', {
        assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('PowerUserAccess')],
      });
    }, 'verify-table-');
    // WHEN verify prints its table
    const run = await cli('verify', dir);
    const rows = run.out.filter((l) => /CAN\s+DESTROY dynamodb:DeleteTable/.test(l));
    // THEN each table has its own row, and the two rows name different resources
    expect(rows).toHaveLength(2);
    const resourceCell = (row: string) => row.split(/\s{2,}/)[1];
    expect(resourceCell(rows[0])).not.toBe(resourceCell(rows[1]));
    expect(rows.map(resourceCell)).toEqual(expect.arrayContaining([expect.stringMatching(/TableA$/), expect.stringMatching(/TableB$/)]));
  });
});
