import { runSimulation } from '@cloud-copilot/iam-simulate';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { carriesResourceTags, requestContext, resourceTypesFor } from '../../lib/verify/analysis/request-context';
import { sampleArns } from '../support/request-context';

const ACCOUNT = '123456789012';
const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

function context(action: string, arn: string, bucketAbac = false) {
  return requestContext(action, arn, {
    tags: { environment: 'production' },
    bucketAbac,
    resourceAccount: ACCOUNT,
    principalArn: `arn:aws:iam::${ACCOUNT}:role/agent`,
    principalTags: { 'guardrails:agent': 'bot' },
  });
}

describe('the request context verify builds for each action', () => {
  test("carries aws:ResourceTag only where the action's resource type does (S3 buckets only with ABAC)", () => {
    const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;
    const bucket = 'arn:aws:s3:::invoices';
    expect(context('dynamodb:DeleteTable', table)['aws:ResourceTag/environment']).toBe('production');
    expect(context('rds:DeleteDBInstance', `arn:aws:rds:us-east-1:${ACCOUNT}:db:orders`)['aws:ResourceTag/environment']).toBe('production');
    expect(context('s3:DeleteBucket', bucket)['aws:ResourceTag/environment']).toBeUndefined();
    expect(context('s3:DeleteBucket', bucket, true)['aws:ResourceTag/environment']).toBe('production');
    // resource types the IAM data spells in another case ("Secret") are still found
    const secret = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:db-password`;
    expect(resourceTypesFor('secretsmanager:DeleteSecret', secret)).toEqual(['Secret']);
    expect(carriesResourceTags('secretsmanager:DeleteSecret', 'Secret', false)).toBe(true);
  });

  test('is one the independent simulator accepts, key for key, for every action of the destructive catalog', async () => {
    // GIVEN every catalog action on a sample resource of its own type
    const ignored: string[] = [];
    let withTags = 0;
    for (const [action] of DESTRUCTIVE_CATALOG) {
      for (const resource of sampleArns(action)) {
        const contextVariables = context(action, resource);
        if (contextVariables['aws:ResourceTag/environment']) withTags++;
        // WHEN @cloud-copilot/iam-simulate evaluates the request with that context
        const result: any = await runSimulation(
          {
            request: { principal: `arn:aws:iam::${ACCOUNT}:role/agent`, action, resource: { resource, accountId: ACCOUNT }, contextVariables },
            identityPolicies: [{ name: 'all', policy: ALLOW_ALL }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
          },
          {},
        );
        if (result.resultType === 'error') {
          if (JSON.stringify(result.errors).includes('multiple.resource.types')) continue;
          throw new Error(`${action} on ${resource}: ${JSON.stringify(result.errors)}`);
        }
        // THEN it ignores none of the keys: each is one AWS would really put in that request
        for (const key of result.result?.ignoredContextKeys ?? []) ignored.push(`${action} on ${resource}: ${key}`);
        break;
      }
    }
    expect(withTags).toBeGreaterThan(1000);
    expect(ignored).toEqual([]);
  });
});
