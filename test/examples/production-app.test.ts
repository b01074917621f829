import { App } from 'aws-cdk-lib';
import * as fs from 'fs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../examples/production-app/main';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { EffectivePolicies, effectivePolicies, exportsOf } from '../support/effective-policies';
import { resourceTypeFor } from '../support/request-context';
import { decide } from '../support/simulate';
import { Template, TemplateResolver } from '../support/template-resolver';
import { cdkInitContext, weakReferencesAsExports } from '../verify/cdk-init-context';

describe('the example app (cdk.json)', () => {
  let policies: EffectivePolicies;
  let production: Template;
  let productionArns: Record<string, string>;
  let devTableArn: string;
  beforeAll(() => {
    // GIVEN the example app, synthesized as `npx cdk synth` does
    // (with the flags of cdk.json, those of a fresh `cdk init` app: weak cross-stack references included)
    const app = buildApp(new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'example-')), context: cdkInitContext() }));
    const assembly = app.synth();
    const byStack = weakReferencesAsExports(Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as Template])));
    const templates = Object.values(byStack);
    const agentTemplate = byStack.Agent as any;
    const roleId = Object.entries<any>(agentTemplate.Resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && (r.Properties.Tags ?? []).some((t: any) => t.Key === 'guardrails:agent'),
    )![0];
    policies = effectivePolicies(agentTemplate, roleId, exportsOf(templates));
    production = assembly.getStackByName('Production').template;
    const resolver = new TemplateResolver(production);
    const arnOf = (type: string, attr = 'Arn') => {
      const id = Object.entries(production.Resources).find(([, r]) => r.Type === type)![0];
      return resolver.resolve({ 'Fn::GetAtt': [id, attr] });
    };
    const dbId = Object.entries(production.Resources).find(([, r]) => r.Type === 'AWS::RDS::DBInstance')![0];
    const zoneId = Object.entries(production.Resources).find(([, r]) => r.Type === 'AWS::Route53::HostedZone')![0];
    const vpcId = Object.entries(production.Resources).find(([, r]) => r.Type === 'AWS::EC2::VPC')![0];
    productionArns = {
      table: arnOf('AWS::DynamoDB::GlobalTable'),
      bucket: arnOf('AWS::S3::Bucket'),
      key: arnOf('AWS::KMS::Key'),
      queue: arnOf('AWS::SQS::Queue'),
      database: `arn:aws:rds:us-east-1:123456789012:db:${resolver.resolve({ Ref: dbId })}`,
      zone: `arn:aws:route53:::hostedzone/${resolver.resolve({ Ref: zoneId })}`,
      vpc: `arn:aws:ec2:us-east-1:123456789012:vpc/${resolver.resolve({ Ref: vpcId })}`,
    };
    const dev = assembly.getStackByName('Dev').template;
    const devId = Object.entries<any>(dev.Resources).find(([, r]) => r.Type === 'AWS::DynamoDB::GlobalTable')![0];
    devTableArn = new TemplateResolver(dev).resolve({ 'Fn::GetAtt': [devId, 'Arn'] });
    void iam;
  });

  test(
    'the agent can apply no destructive action of the catalog to any production resource but the data-level delete it was explicitly granted',
    async () => {
      const allowed: string[] = [];
      const evaluated: Record<string, number> = {};
      for (const [name, arn] of Object.entries(productionArns)) {
        for (const resource of [arn, `${arn}/some-object`]) {
          for (const [action] of DESTRUCTIVE_CATALOG) {
            if (!action.startsWith(`${arn.split(':')[2]}:`) || !resourceTypeFor(action, resource)) continue;
            // a pair the simulator finds invalid (the action does not act on this ARN) is no request AWS would see
            const decision = await decide(policies, { action, resource, tags: { environment: 'production' } }).catch((e) =>
              /multiple\.resource\.types|no\.resource\.types/.test(e.message) ? 'skip' : Promise.reject(e),
            );
            if (decision === 'Allowed') allowed.push(`${name}: ${action}`);
            if (decision !== 'skip') evaluated[name] = (evaluated[name] ?? 0) + 1;
          }
        }
      }
      // every production resource was actually tried with its service's destructive actions
      for (const name of Object.keys(productionArns)) expect([name, (evaluated[name] ?? 0) >= 3]).toEqual([name, true]);
      // jobs.grantConsumeMessages(agent) is the one explicit, resource-scoped data-level grant
      expect(allowed).toEqual(['queue: sqs:DeleteMessage']);
    },
  );

  test('the agent keeps its least-privilege grants', async () => {
    await expect(decide(policies, { action: 'dynamodb:GetItem', resource: productionArns.table, tags: { environment: 'production' } })).resolves.toBe(
      'Allowed',
    );
    await expect(
      decide(policies, { action: 'sqs:DeleteMessage', resource: productionArns.queue, tags: { environment: 'production' } }),
    ).resolves.toBe('Allowed');
    await expect(decide(policies, { action: 'dynamodb:DeleteItem', resource: devTableArn, tags: { environment: 'dev' } })).resolves.toBe('Allowed');
    // and nothing it was not given
    await expect(
      decide(policies, { action: 'dynamodb:PutItem', resource: productionArns.table, tags: { environment: 'production' } }),
    ).resolves.not.toBe('Allowed');
  });

  test('production resources keep their own last line of defence', () => {
    const byType = (type: string) =>
      Object.values(production.Resources)
        .filter((r) => r.Type === type)
        .map((r) => r.Properties);
    expect(byType('AWS::RDS::DBInstance')[0].DeletionProtection).toBe(true);
    expect(byType('AWS::DynamoDB::GlobalTable')[0].Replicas[0].DeletionProtectionEnabled).toBe(true);
    expect(byType('AWS::S3::Bucket')[0].VersioningConfiguration.Status).toBe('Enabled');
    expect(byType('AWS::KMS::Key')[0].PendingWindowInDays).toBe(30);
  });
});

describe('the example runs with the flags of a fresh `cdk init` app', () => {
  test('fails when cdk.json differs from the cdk init template in a feature flag', () => {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8'));
    expect(cdkJson.context).toEqual(cdkInitContext());
    expect(cdkJson.context['@aws-cdk/core:defaultCrossStackReferences']).toBe('weak');
  });
});
