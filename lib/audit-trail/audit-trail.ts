import { Annotations, Duration, Names, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AGENT_TAG, GUARDRAIL_COMPONENT_TAG } from '../guard/private/escalation-statements';
import { invalidProps } from '../shared/errors';
import { acknowledgeNagFindings } from '../shared/nag-suppressions';

/** How Object Lock protects the audit log files. */
export enum AuditLockMode {
  /** Nobody, not even the account root, can delete or overwrite a log file before its retention ends. */
  COMPLIANCE = 'COMPLIANCE',
  /** Principals granted s3:BypassGovernanceRetention can delete early (never an agent: it is denied every action on the bucket). */
  GOVERNANCE = 'GOVERNANCE',
}

/** Properties of an AuditTrail. */
export interface AuditTrailProps {
  /**
   * How long every log file is locked against deletion and overwrite (S3 Object Lock default
   * retention). Whole days, from 1 day to 36,500 days (100 years).
   * @default Duration.days(365)
   */
  readonly retention?: Duration;
  /**
   * The Object Lock mode of the log bucket.
   * @default AuditLockMode.COMPLIANCE
   */
  readonly lockMode?: AuditLockMode;
  /**
   * The ARN of an existing organization trail that already records this account's management
   * events in every region. When given, no trail, bucket or key is created here; the organization
   * trail's own bucket must carry the same protections.
   * @default - a new multi-region trail is created
   */
  readonly organizationTrailArn?: string;
  /**
   * The name of the trail created.
   * @default - generated from the construct path
   */
  readonly trailName?: string;
  /**
   * Record write data events of S3 objects and DynamoDB tables too, so that the data-level deletes
   * an agent was explicitly granted (objects, items) are attributable. Costs per event recorded.
   * @default true
   */
  readonly recordDataWrites?: boolean;
}

/** The id of the synth-time warning about the default COMPLIANCE-mode lock (acknowledge with this id, or choose the mode). */
export const COMPLIANCE_DEFAULT_WARNING = 'cdk-agent-guardrails:audit-trail-compliance-lock';

/**
 * Right for production, surprising in a sandbox: say what the default lock means before anyone deploys it. Silent
 * when the user chose the mode (either mode) explicitly.
 */
function warnComplianceDefault(scope: Construct, retention: Duration): void {
  const period = Token.isUnresolved(retention.toSeconds()) ? 'the retention period' : `${retention.toDays()} days`;
  Annotations.of(scope).addWarningV2(
    COMPLIANCE_DEFAULT_WARNING,
    `AuditTrail ${scope.node.path}: the log bucket uses the default COMPLIANCE-mode Object Lock for ${period} and is retained: no one, ` +
      `the account root included, can delete its objects or the bucket for ${period} after each log file is written. For a trial or a ` +
      'sandbox choose lockMode: AuditLockMode.GOVERNANCE (a principal granted s3:BypassGovernanceRetention can then delete) or a shorter ' +
      'retention (retention: Duration.days(1)); to keep COMPLIANCE, set lockMode: AuditLockMode.COMPLIANCE, which also silences this warning.',
  );
}

/** The default Object Lock retention of audit log files. */
export const DEFAULT_AUDIT_RETENTION = Duration.days(365);
const MAX_RETENTION_DAYS = 36500;

/**
 * A CloudTrail trail that keeps a record holding up after an incident: every region, management
 * events read and write, log file integrity validation, log files encrypted with a KMS key of
 * their own and delivered to a versioned S3 bucket with Object Lock, whose server access logs (who
 * read or tried to change a log file) go to a second bucket. Agent sessions are attributed by the
 * source identity that AgentRole's trust policy requires.
 *
 * The trail, its buckets and its key are guardrail components (tag `guardrails:component`): every
 * agent role is denied every action on them by its escalation denies, and the bucket and key
 * policies deny every principal tagged as an agent as well, because S3 does not put bucket tags in
 * the request context unless ABAC is enabled on the bucket.
 */
export class AuditTrail extends Construct {
  /** The ARN of the trail recording the account: the one created, or the organization trail. */
  public readonly trailArn: string;
  /** Whether an existing organization trail is used instead of a trail created here. */
  public readonly usesOrganizationTrail: boolean;
  /** The trail created; undefined with an organization trail. */
  public readonly trail?: cloudtrail.Trail;
  /** The bucket of the log files; undefined with an organization trail. */
  public readonly bucket?: s3.Bucket;
  /**
   * The bucket receiving the server access logs of the log-file bucket (who read, wrote or tried to
   * delete a log file); undefined with an organization trail.
   */
  public readonly accessLogsBucket?: s3.Bucket;
  /** The key encrypting the log files; undefined with an organization trail. */
  public readonly encryptionKey?: kms.Key;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    if (props.organizationTrailArn !== undefined) {
      validateOrganizationTrail(props, this.node.path);
      this.trailArn = props.organizationTrailArn;
      this.usesOrganizationTrail = true;
      Annotations.of(this).addInfoV2(
        'cdk-agent-guardrails:organization-trail',
        `AuditTrail uses the organization trail ${props.organizationTrailArn}: make sure it records management events in every region ` +
          'with log file validation, and that its bucket has Object Lock.',
      );
      return;
    }
    const retention = validateRetention(props.retention ?? DEFAULT_AUDIT_RETENTION, this.node.path);
    const lockMode = props.lockMode ?? AuditLockMode.COMPLIANCE;
    if (!Object.values(AuditLockMode).includes(lockMode)) {
      throw invalidProps(
        'AuditTrail.InvalidLockMode',
        `AuditTrail: lockMode ${JSON.stringify(lockMode)} is not valid. Use AuditLockMode.COMPLIANCE or AuditLockMode.GOVERNANCE.`,
        {
          constructPath: this.node.path,
          received: JSON.stringify(lockMode),
          fix: 'Use AuditLockMode.COMPLIANCE or AuditLockMode.GOVERNANCE.',
        },
      );
    }
    this.usesOrganizationTrail = false;
    if (props.lockMode === undefined) warnComplianceDefault(this, retention);
    const stack = Stack.of(this);
    const trailName = props.trailName ?? Names.uniqueResourceName(this, { maxLength: 128, separator: '-' });
    const trailArnForPolicies = `arn:${stack.partition}:cloudtrail:${stack.region}:${stack.account}:trail/${trailName}`;

    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'cdk-agent-guardrails audit trail log files',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    const cloudTrail = new iam.ServicePrincipal('cloudtrail.amazonaws.com');
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptsLogFiles',
        principals: [cloudTrail],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceArn': trailArnForPolicies },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${stack.partition}:cloudtrail:*:${stack.account}:trail/*` },
        },
      }),
    );
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailDescribesKey',
        principals: [cloudTrail],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
      }),
    );
    this.encryptionKey.addToResourcePolicy(denyAgents('DenyAgentsTheAuditKey', ['kms:*'], ['*']));

    // Server access logs of the log-file bucket (CIS AWS Foundations: access logging on the CloudTrail
    // bucket): reads of log files are not in the trail, which records write data events only. Server
    // access logging writes with SSE-S3 only; the grant is a bucket policy for the logging service,
    // pinned to the log-file bucket, whatever the app's feature flags (no ACLs).
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogsBucket.addToResourcePolicy(
      denyAgents('DenyAgentsTheAccessLogs', ['s3:*'], [this.accessLogsBucket.bucketArn, this.accessLogsBucket.arnForObjects('*')]),
    );
    acknowledgeNagFindings(this.accessLogsBucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'This bucket is the server-access-log destination of the audit log-file bucket; logging it too would need another bucket ' +
          'without logs (or itself, which loops). It is versioned, retained, SSL-only, and every agent is denied every action on it.',
      },
    ]);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        lockMode === AuditLockMode.COMPLIANCE ? s3.ObjectLockRetention.compliance(retention) : s3.ObjectLockRetention.governance(retention),
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(denyAgents('DenyAgentsTheAuditBucket', ['s3:*'], [this.bucket.bucketArn, this.bucket.arnForObjects('*')]));
    const accessLogPrefix = 'audit-log-files/';
    (this.bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogsBucket.bucketName,
      logFilePrefix: accessLogPrefix,
    };
    this.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfTheAuditBucket',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogsBucket.arnForObjects(`${accessLogPrefix}*`)],
        conditions: { ArnLike: { 'aws:SourceArn': this.bucket.bucketArn }, StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );

    this.trail = new cloudtrail.Trail(this, 'Trail', {
      trailName,
      bucket: this.bucket,
      encryptionKey: this.encryptionKey,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
      managementEvents: cloudtrail.ReadWriteType.ALL,
    });
    if (props.recordDataWrites ?? true) {
      recordDataWrites(this.trail);
    }
    this.trailArn = this.trail.trailArn;
    Tags.of(this).add(GUARDRAIL_COMPONENT_TAG, 'audit-trail');
  }
}

/**
 * Advanced event selectors: every management event, plus write data events of S3 objects and
 * DynamoDB tables (basic and advanced selectors cannot be mixed, so management events move here).
 */
function recordDataWrites(trail: cloudtrail.Trail): void {
  const cfn = trail.node.defaultChild as cloudtrail.CfnTrail;
  const dataWrites = (type: string) => ({
    name: `Write data events of ${type}`,
    fieldSelectors: [
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: [type] },
      { field: 'readOnly', equalTo: ['false'] },
    ],
  });
  cfn.addPropertyDeletionOverride('EventSelectors');
  cfn.advancedEventSelectors = [
    { name: 'All management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
    dataWrites('AWS::S3::Object'),
    dataWrites('AWS::DynamoDB::Table'),
  ];
}

/** Denies every principal tagged as an agent (role tags are in aws:PrincipalTag for its sessions). */
function denyAgents(sid: string, actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions,
    resources,
    conditions: { Null: { [`aws:PrincipalTag/${AGENT_TAG}`]: 'false' } },
  });
}

function validateRetention(retention: Duration, constructPath: string): Duration {
  if (Token.isUnresolved(retention.toSeconds())) {
    return retention;
  }
  const seconds = retention.toSeconds();
  const days = seconds / 86400;
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
    throw invalidProps(
      'AuditTrail.InvalidRetention',
      `AuditTrail: retention of ${retention.toHumanString()} is not valid. Object Lock retains whole days, from 1 to ${MAX_RETENTION_DAYS}; use ` +
        `for example Duration.days(365).`,
      {
        constructPath,
        received: retention.toHumanString(),
        fix: `Use whole days from 1 to ${MAX_RETENTION_DAYS}, for example Duration.days(365).`,
      },
    );
  }
  return Duration.days(days);
}

function validateOrganizationTrail(props: AuditTrailProps, constructPath: string): void {
  const arn = props.organizationTrailArn!;
  if (!Token.isUnresolved(arn) && !/^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:trail\/[A-Za-z0-9._-]{3,128}$/.test(arn)) {
    throw invalidProps(
      'AuditTrail.InvalidOrganizationTrailArn',
      `AuditTrail: organizationTrailArn ${JSON.stringify(arn)} is not a trail ARN. Give the ARN of the organization trail, such as ` +
        `arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail.`,
      {
        constructPath,
        received: JSON.stringify(arn),
        fix: 'Give the ARN of the organization trail, such as arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail.',
      },
    );
  }
  for (const key of ['retention', 'lockMode', 'trailName'] as const) {
    if (props[key] !== undefined) {
      throw invalidProps(
        'AuditTrail.OptionWithOrganizationTrail',
        `AuditTrail: ${key} applies to a trail created here, but organizationTrailArn was given (nothing is created). Remove ${key}, or remove ` +
          `organizationTrailArn.`,
        {
          constructPath,
          received: `${key} with organizationTrailArn`,
          fix: `Remove ${key}, or remove organizationTrailArn.`,
        },
      );
    }
  }
}
