/**
 * Acknowledgements of cdk-nag findings on the library's own resources, without cdk-nag (an
 * optional peer: importing a construct must work without it) and without the CDK at run time
 * (shared/ takes CDK types only). Each acknowledgement names one rule and, for rules that report
 * findings (`AwsSolutions-IAM5[Resource::*]`), the exact findings: never a whole rule where
 * findings exist. It is written in the two places cdk-nag reads:
 *
 * - cdk-nag 3: the construct metadata `aws:cdk:acknowledged-rules` that CDK's
 *   `Validations.of(construct).acknowledge({ id, reason })` writes, one entry per finding id
 *   `Rule[Finding]`; cdk-nag honours it on the construct and everything below it;
 * - cdk-nag 2: the CloudFormation metadata `cdk_nag: { rules_to_suppress: [{ id, reason,
 *   applies_to }] }` of every CfnResource under the construct at the time of the call (as v2's
 *   `NagSuppressions.addResourceSuppressions(construct, rules, true)` writes it), merged with the
 *   entries already there. It also leaves every reason in the template for a reviewer to read.
 */
import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { invalidProps } from './errors';

/** The CloudFormation metadata key cdk-nag 2 reads its suppressions from. */
export const NAG_CFN_METADATA_KEY = 'cdk_nag';

/** CDK's `Validations.ACKNOWLEDGED_RULES_METADATA_KEY`, which cdk-nag 3 reads. */
export const ACKNOWLEDGED_RULES_METADATA_KEY = 'aws:cdk:acknowledged-rules';

/** The prefix CDK gives an acknowledged id without a plugin namespace (cdk-nag 3 strips it). */
const ACKNOWLEDGED_ID_PREFIX = 'Annotation::';

/** The shortest reason accepted: a reason says why the finding is safe, not just that it is. */
export const MIN_NAG_REASON_LENGTH = 40;

/** One acknowledged rule, in the shape of cdk-nag's `NagPackSuppression`. */
export interface NagAcknowledgement {
  /** The rule id, for example `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding is safe here; at least MIN_NAG_REASON_LENGTH characters. */
  readonly reason: string;
  /**
   * The exact findings acknowledged, for example `Resource::*` (see nagResourceFinding).
   * @default - the rule as a whole: only for rules that report no finding ids
   */
  readonly appliesTo?: string[];
}

/** A cdk-nag 2 suppression as stored in the CloudFormation metadata. */
interface CfnSuppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

/**
 * Acknowledges cdk-nag findings on `scope` and the resources below it. Call it once the
 * resources exist (cdk-nag 2 reads the metadata of the CfnResources present at the call).
 */
export function acknowledgeNagFindings(scope: IConstruct, acknowledgements: readonly NagAcknowledgement[]): void {
  for (const ack of acknowledgements) {
    if (ack.reason.trim().length < MIN_NAG_REASON_LENGTH) {
      throw invalidProps(
        'NagAcknowledgement.ShortReason',
        `cdk-nag acknowledgement of ${ack.id} on ${scope.node.path} has a reason of ${ack.reason.trim().length} characters; ` +
          `say why the finding is safe in at least ${MIN_NAG_REASON_LENGTH}.`,
        {
          constructPath: scope.node.path,
          received: JSON.stringify(ack.reason),
          fix: 'Write the reason a security reviewer needs: what the finding covers and why it cannot be narrowed.',
        },
      );
    }
    if (ack.appliesTo !== undefined && ack.appliesTo.length === 0) {
      throw invalidProps(
        'NagAcknowledgement.EmptyAppliesTo',
        `cdk-nag acknowledgement of ${ack.id} on ${scope.node.path} has an empty appliesTo, which acknowledges nothing in cdk-nag 3 ` +
          'and the whole rule in cdk-nag 2.',
        {
          constructPath: scope.node.path,
          received: '[]',
          fix: 'Name the exact findings, or leave appliesTo out for a rule without finding ids.',
        },
      );
    }
  }

  // cdk-nag 3: what Validations.of(scope).acknowledge({ id, reason }) records, one entry per acknowledgement
  // with every finding id as a key (CDK and cdk-nag 3 read every key of every entry): a boundary's seventy
  // findings are one entry, not seventy.
  for (const ack of acknowledgements) {
    scope.node.addMetadata(
      ACKNOWLEDGED_RULES_METADATA_KEY,
      Object.fromEntries(findingIds(ack).map((id) => [`${ACKNOWLEDGED_ID_PREFIX}${id}`, ack.reason])),
    );
  }

  // cdk-nag 2: the CloudFormation metadata of each resource.
  const rules: CfnSuppression[] = acknowledgements.map((ack) => ({
    id: ack.id,
    reason: ack.reason,
    ...(ack.appliesTo ? { applies_to: [...ack.appliesTo] } : {}),
  }));
  for (const node of scope.node.findAll()) {
    if (isCfnResource(node)) {
      addCfnSuppressions(node, rules);
    }
  }
}

/** The acknowledgement ids cdk-nag 3 matches: `Rule[Finding]` per finding, or the rule itself. */
export function findingIds(ack: NagAcknowledgement): string[] {
  return ack.appliesTo ? ack.appliesTo.map((finding) => `${ack.id}[${finding}]`) : [ack.id];
}

/** As CDK's CfnResource.isCfnResource decides it (by shape: shared/ loads no CDK class). */
function isCfnResource(x: IConstruct): x is CfnResource {
  const candidate = x as Partial<CfnResource>;
  return candidate.cfnResourceType !== undefined && typeof candidate.addMetadata === 'function' && typeof candidate.getMetadata === 'function';
}

/** Merges suppressions into a resource's `cdk_nag` metadata, without duplicates (as cdk-nag 2 does). */
function addCfnSuppressions(resource: CfnResource, rules: readonly CfnSuppression[]): void {
  const existing = resource.getMetadata(NAG_CFN_METADATA_KEY) as { rules_to_suppress?: CfnSuppression[] } | undefined;
  const serialized = [...(existing?.rules_to_suppress ?? []), ...rules].map((r) => JSON.stringify(r));
  resource.addMetadata(NAG_CFN_METADATA_KEY, {
    ...existing,
    rules_to_suppress: [...new Set(serialized)].map((r) => JSON.parse(r) as CfnSuppression),
  });
}

/**
 * The finding cdk-nag's wildcard rules (AwsSolutions-IAM5 and its kin) report for one resource of
 * an IAM statement: `Resource::` and the resource as the template holds it, references flattened
 * as cdk-nag flattens them (`<LogicalId.Attribute>`, `<AWS::Partition>`). Give it the resource as
 * `Stack.of(scope).resolve(arn)` returns it: resolved when called, so a logical id overridden
 * afterwards makes the finding reappear, never hides another.
 */
export function nagResourceFinding(resolvedResource: unknown): string {
  return `Resource::${flattenReference(resolvedResource)}`;
}

/** cdk-nag's rendering of a CloudFormation value as one string (its utils/flatten-cfn-reference). */
function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  const node = value as Record<string, any>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub']) return flattenReference(node['Fn::Sub']);
  if (node['Fn::GetAtt']) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue']) return flattenReference(node['Fn::ImportValue']);
  if (node.Ref) return `<${flattenReference(node.Ref)}>`;
  return JSON.stringify(value);
}

/** The newest Node.js runtime among runtime names (`lambda.Runtime.ALL`): what AwsSolutions-L1 compares with. */
export function latestNodeRuntimeName(runtimeNames: readonly string[]): string | undefined {
  const versions = runtimeNames
    .map((n) => /^nodejs(\d+)\.x$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  return versions.length === 0 ? undefined : `nodejs${Math.max(...versions)}.x`;
}

/**
 * The acknowledgement of AwsSolutions-L1 (not the latest runtime) for a function that runs the
 * library's default runtime while a newer one exists; none for a runtime the user chose (the rule
 * judges the choice) or for the latest.
 */
export function defaultRuntimeAcknowledgement(
  runtimeName: string,
  latestName: string | undefined,
  chosenByUser: boolean,
): NagAcknowledgement | undefined {
  if (chosenByUser || latestName === undefined || runtimeName === latestName) return undefined;
  return {
    id: 'AwsSolutions-L1',
    reason:
      `${runtimeName} is the library's default runtime, the one its bundled handlers are built and tested for, and a runtime AWS Lambda ` +
      `supports (not deprecated), so it receives security patches; ${latestName} is opt-in through the lambdaRuntime property, and a runtime ` +
      'chosen there is judged by this rule without acknowledgement.',
  };
}
