import { Aspects, Stack, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fs from 'fs';
import * as path from 'path';
import { GuardAgents } from '../../lib/guard/guard-agents';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { isProduction, DEFAULT_PRODUCTION_MODEL } from '../../lib/verify/model/production-resources';
import { effectivePolicies, logicalIdOf } from '../support/effective-policies';
import { decide } from '../support/simulate';
import { Template } from '../support/template-resolver';
import { cli, synthTo } from './verify-fixtures';

describe('verify compares tag keys as IAM does', () => {
  let dir: string;
  beforeAll(() => {
    // GIVEN an untagged stack with a table tagged Environment=Dev (key capitalised) and a guarded agent with AdministratorAccess
    dir = synthTo((app) => {
      const stack = new Stack(app, 'App', { env: { account: '123456789012', region: 'us-east-1' } });
      const scratch = new dynamodb.Table(stack, 'Scratch', {
        tableName: 'scratch',
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      });
      Tags.of(scratch).add('Environment', 'Dev');
      new iam.Role(stack, 'Agent', {
        roleName: 'agent',
        assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'),
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess')],
      });
      Aspects.of(app).add(new GuardAgents());
    }, 'verify-tag-case-');
  });

  test('fails when Environment=Dev is called production: the table is disposable, as the deployed guard treats it', async () => {
    // WHEN verify reads the app
    const run = await cli('verify', dir, '--json');
    const report: VerifyReport = JSON.parse(run.stdout);
    // THEN the table is not production, and the pipeline passes
    expect(report.nonProductionResources).toContain('App/Scratch');
    expect(run.code).toBe(0);
    // AND IAM agrees: the guard lets the agent delete that table (aws:ResourceTag/environment matches Environment)
    const template: Template = JSON.parse(fs.readFileSync(path.join(dir, 'App.template.json'), 'utf8'));
    const policies = effectivePolicies(template, logicalIdOf(template, 'AWS::IAM::Role', 'Agent'));
    const arn = 'arn:aws:dynamodb:us-east-1:123456789012:table/scratch';
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: arn, tags: { Environment: 'Dev' } })).resolves.toBe('Allowed');
    // while the same table tagged production is denied: the allow above is the tag's doing
    await expect(decide(policies, { action: 'dynamodb:DeleteTable', resource: arn, tags: { Environment: 'production' } })).resolves.toBe(
      'ExplicitlyDenied',
    );
  });

  test('keys that differ only in case with different values: any production value makes it production (fail closed)', () => {
    expect(isProduction({ ENVIRONMENT: 'dev' }, DEFAULT_PRODUCTION_MODEL)).toBe(false);
    expect(isProduction({ Environment: 'dev', environment: 'production' }, DEFAULT_PRODUCTION_MODEL)).toBe(true);
    expect(isProduction({ Env: 'dev' }, DEFAULT_PRODUCTION_MODEL)).toBe(true);
  });
});
