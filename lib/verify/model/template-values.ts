/**
 * Resolves the CloudFormation intrinsics of a synthesized template into the values a deployment
 * would produce, as far as they can be known offline: the stack's account and region (or
 * placeholders for an environment-agnostic stack), physical names from the name properties (or a
 * stable generated name), and ARNs built from them. A value it cannot know becomes an
 * `unresolved` marker string and is recorded, so that reports can say what was not evaluated.
 */

/** A CloudFormation template as verify reads it. */
export interface Template {
  readonly Resources?: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  readonly Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
}

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, any>;
  readonly Condition?: string;
}

/** The account placeholder of an environment-agnostic stack. */
export const UNKNOWN_ACCOUNT = '000000000000';
/** The region placeholder of an environment-agnostic stack. */
export const UNKNOWN_REGION = 'us-east-1';

export const UNRESOLVED_PREFIX = 'unresolved:';

export interface StackEnvironment {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly partition: string;
}

/** What `Fn::GetAtt X.Arn` and `Ref X` give for the resource types whose names appear in policies. */
const ARN_OF_NAME: Record<string, (name: string, env: StackEnvironment) => string> = {
  'AWS::DynamoDB::Table': (n, e) => `arn:${e.partition}:dynamodb:${e.region}:${e.account}:table/${n}`,
  'AWS::DynamoDB::GlobalTable': (n, e) => `arn:${e.partition}:dynamodb:${e.region}:${e.account}:table/${n}`,
  'AWS::S3::Bucket': (n, e) => `arn:${e.partition}:s3:::${n}`,
  'AWS::SQS::Queue': (n, e) => `arn:${e.partition}:sqs:${e.region}:${e.account}:${n}`,
  'AWS::SNS::Topic': (n, e) => `arn:${e.partition}:sns:${e.region}:${e.account}:${n}`,
  'AWS::KMS::Key': (n, e) => `arn:${e.partition}:kms:${e.region}:${e.account}:key/${n}`,
  'AWS::KMS::Alias': (n, e) => `arn:${e.partition}:kms:${e.region}:${e.account}:${n}`,
  'AWS::IAM::Role': (n, e) => `arn:${e.partition}:iam::${e.account}:role/${n}`,
  'AWS::IAM::User': (n, e) => `arn:${e.partition}:iam::${e.account}:user/${n}`,
  'AWS::IAM::Group': (n, e) => `arn:${e.partition}:iam::${e.account}:group/${n}`,
  'AWS::IAM::ManagedPolicy': (n, e) => `arn:${e.partition}:iam::${e.account}:policy/${n}`,
  'AWS::Lambda::Function': (n, e) => `arn:${e.partition}:lambda:${e.region}:${e.account}:function:${n}`,
  'AWS::Logs::LogGroup': (n, e) => `arn:${e.partition}:logs:${e.region}:${e.account}:log-group:${n}:*`,
  'AWS::RDS::DBInstance': (n, e) => `arn:${e.partition}:rds:${e.region}:${e.account}:db:${n}`,
  'AWS::RDS::DBCluster': (n, e) => `arn:${e.partition}:rds:${e.region}:${e.account}:cluster:${n}`,
  'AWS::StepFunctions::StateMachine': (n, e) => `arn:${e.partition}:states:${e.region}:${e.account}:stateMachine:${n}`,
  'AWS::ECS::Cluster': (n, e) => `arn:${e.partition}:ecs:${e.region}:${e.account}:cluster/${n}`,
  'AWS::EFS::FileSystem': (n, e) => `arn:${e.partition}:elasticfilesystem:${e.region}:${e.account}:file-system/${n}`,
  'AWS::SecretsManager::Secret': (n, e) => `arn:${e.partition}:secretsmanager:${e.region}:${e.account}:secret:${n}`,
  'AWS::ECR::Repository': (n, e) => `arn:${e.partition}:ecr:${e.region}:${e.account}:repository/${n}`,
  'AWS::Kinesis::Stream': (n, e) => `arn:${e.partition}:kinesis:${e.region}:${e.account}:stream/${n}`,
  'AWS::EKS::Cluster': (n, e) => `arn:${e.partition}:eks:${e.region}:${e.account}:cluster/${n}`,
  'AWS::Backup::BackupVault': (n, e) => `arn:${e.partition}:backup:${e.region}:${e.account}:backup-vault:${n}`,
  'AWS::Events::EventBus': (n, e) => `arn:${e.partition}:events:${e.region}:${e.account}:event-bus/${n}`,
  'AWS::Events::Rule': (n, e) => `arn:${e.partition}:events:${e.region}:${e.account}:rule/${n}`,
  'AWS::EC2::Instance': (n, e) => `arn:${e.partition}:ec2:${e.region}:${e.account}:instance/${n}`,
  'AWS::EC2::Volume': (n, e) => `arn:${e.partition}:ec2:${e.region}:${e.account}:volume/${n}`,
  'AWS::EC2::VPC': (n, e) => `arn:${e.partition}:ec2:${e.region}:${e.account}:vpc/${n}`,
  'AWS::Route53::HostedZone': (n, e) => `arn:${e.partition}:route53:::hostedzone/${n}`,
  'AWS::CloudTrail::Trail': (n, e) => `arn:${e.partition}:cloudtrail:${e.region}:${e.account}:trail/${n}`,
  'AWS::CloudFormation::Stack': (n, e) =>
    `arn:${e.partition}:cloudformation:${e.region}:${e.account}:stack/${n}/00000000-0000-0000-0000-000000000000`,
};

/** Attributes that are the resource's own ARN (others, such as a table's StreamArn, are not). */
const ARN_ATTRIBUTES = new Set(['Arn', 'DBInstanceArn', 'DBClusterArn', 'TopicArn', 'StackId', 'KeyArn']);

/** Resource types whose `Ref` is the ARN rather than the name. */
const REF_IS_ARN = new Set([
  'AWS::SNS::Topic',
  'AWS::IAM::ManagedPolicy',
  'AWS::SecretsManager::Secret',
  'AWS::StepFunctions::StateMachine',
  'AWS::CloudFormation::Stack',
  'AWS::Backup::BackupVault',
]);

/** Properties that carry a resource's physical name, by resource type (first match wins). */
const NAME_PROPERTIES = [
  'TableName',
  'BucketName',
  'QueueName',
  'TopicName',
  'RoleName',
  'ManagedPolicyName',
  'UserName',
  'GroupName',
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
  'FunctionName',
  'LogGroupName',
  'StateMachineName',
  'ClusterName',
  'Name',
  'RepositoryName',
  'BackupVaultName',
  'TrailName',
  'AliasName',
];

/** The physical name CloudFormation would give a resource: its name property, or a stable generated one. */
export function physicalName(stackName: string, logicalId: string, resource: TemplateResource): string {
  const props = resource.Properties ?? {};
  for (const key of NAME_PROPERTIES) {
    if (typeof props[key] === 'string') {
      // Route 53 zone names are not IDs; KMS keys have no name property.
      if (resource.Type === 'AWS::Route53::HostedZone' || resource.Type === 'AWS::KMS::Key') break;
      return props[key];
    }
  }
  if (
    resource.Type === 'AWS::KMS::Key' ||
    resource.Type === 'AWS::EC2::Instance' ||
    resource.Type === 'AWS::EC2::Volume' ||
    resource.Type === 'AWS::EC2::VPC' ||
    resource.Type === 'AWS::Route53::HostedZone' ||
    resource.Type === 'AWS::EFS::FileSystem'
  ) {
    return `${logicalId.toLowerCase()}-id`;
  }
  return `${stackName}-${logicalId}`.slice(0, 63);
}

/** The ARN a resource would have once deployed, or undefined for types verify cannot name. */
export function arnOfResource(env: StackEnvironment, logicalId: string, resource: TemplateResource): string | undefined {
  const arn = ARN_OF_NAME[resource.Type];
  return arn ? arn(physicalName(env.stackName, logicalId, resource), env) : undefined;
}

export function isUnresolved(value: unknown): boolean {
  return typeof value === 'string' && value.includes(UNRESOLVED_PREFIX);
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Hooks a resolver uses for what lies outside its own template. */
export interface ResolverLinks {
  /** Values of Fn::ImportValue, by export name. */
  readonly imports?: ReadonlyMap<string, unknown>;
  /** Values passed to this (nested) stack's parameters by its parent. */
  readonly parameters?: Record<string, unknown>;
  /** The value of output `output` of nested stack `logicalId` of this stack. */
  readonly nestedOutput?: (logicalId: string, output: string) => unknown;
  /**
   * The value of output `output` of the stack named `stackName` (in `region` when given), or undefined when the
   * assembly holds no such stack or output: what `Fn::GetStackOutput` (weak cross-stack references) reads.
   */
  readonly stackOutput?: (stackName: string, region: string | undefined, output: string) => unknown;
}

export class TemplateResolver {
  /** Every value that could not be resolved, described. */
  public readonly unresolved = new Set<string>();

  constructor(
    public readonly env: StackEnvironment,
    private readonly template: Template,
    private readonly links: ResolverLinks = {},
  ) {}

  public resolve(value: unknown): any {
    const resolved = this.resolveValue(value);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  private resolveValue(value: unknown): any {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolveValue(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const keys = Object.keys(value);
    const single = keys.length === 1 ? (value as Record<string, unknown>)[keys[0]] : undefined;
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || (keys[0] === 'Condition' && typeof single === 'string'))) {
      return this.intrinsic(keys[0], (value as Record<string, unknown>)[keys[0]]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.resolveValue(v);
      if (resolved !== NO_VALUE) {
        out[k] = resolved;
      }
    }
    return out;
  }

  private fail(what: string): string {
    this.unresolved.add(what);
    return `${UNRESOLVED_PREFIX}${what}`;
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::AccountId':
        return this.env.account;
      case 'AWS::Region':
        return this.env.region;
      case 'AWS::Partition':
        return this.env.partition;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.env.stackName;
      case 'AWS::StackId': {
        const { partition, region, account, stackName } = this.env;
        return `arn:${partition}:cloudformation:${region}:${account}:stack/${stackName}/00000000-0000-0000-0000-000000000000`;
      }
      case 'AWS::NotificationARNs':
        return undefined;
      default:
        return undefined;
    }
  }

  /** The value of `Ref name`. */
  public ref(name: string): any {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (this.links.parameters && name in this.links.parameters) return this.links.parameters[name];
      if (parameter.Default !== undefined) {
        // SSM parameter types resolve at deploy time, never to their default's text.
        return String(parameter.Type ?? '').startsWith('AWS::SSM::') ? this.fail(`parameter ${name}`) : parameter.Default;
      }
      return this.fail(`parameter ${name}`);
    }
    const resource = this.template.Resources?.[name];
    if (!resource) return this.fail(`Ref ${name}`);
    const physical = physicalName(this.env.stackName, name, resource);
    if (REF_IS_ARN.has(resource.Type)) return ARN_OF_NAME[resource.Type](physical, this.env);
    return physical;
  }

  /** The value of `Fn::GetAtt logicalId.attribute`. */
  public getAtt(logicalId: string, attribute: string): any {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) return this.fail(`GetAtt ${logicalId}.${attribute}`);
    if (resource.Type === 'AWS::CloudFormation::Stack' && attribute.startsWith('Outputs.') && this.links.nestedOutput) {
      return this.links.nestedOutput(logicalId, attribute.slice('Outputs.'.length));
    }
    const physical = physicalName(this.env.stackName, logicalId, resource);
    const arn = ARN_OF_NAME[resource.Type];
    if (arn && ARN_ATTRIBUTES.has(attribute)) {
      return arn(physical, this.env);
    }
    if (resource.Type === 'AWS::DynamoDB::Table' && attribute === 'StreamArn') {
      return `${arn!(physical, this.env)}/stream/stream-label`;
    }
    if (/^(Name|TableName|BucketName|QueueName|TopicName|RoleId|KeyId|Id|FunctionName)$/.test(attribute)) {
      return physical;
    }
    if (resource.Type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') {
      return `https://sqs.${this.env.region}.amazonaws.com/${this.env.account}/${physical}`;
    }
    return this.fail(`GetAtt ${logicalId}.${attribute}`);
  }

  private intrinsic(name: string, arg: any): any {
    switch (name) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [logicalId, ...rest] = Array.isArray(arg) ? arg.map((a) => this.resolveValue(a)) : String(arg).split('.');
        return this.getAtt(String(logicalId), rest.join('.'));
      }
      case 'Fn::Join': {
        const [separator, parts] = arg;
        const list = this.resolveValue(parts);
        return Array.isArray(list)
          ? list.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(separator)
          : this.fail('Fn::Join of a non-list');
      }
      case 'Fn::Select': {
        const [index, list] = arg;
        const items = this.resolveValue(list);
        const i = Number(this.resolveValue(index));
        return Array.isArray(items) && i < items.length ? items[i] : this.fail('Fn::Select');
      }
      case 'Fn::Split': {
        const [separator, text] = arg;
        const value = this.resolveValue(text);
        return typeof value === 'string' && !isUnresolved(value) ? value.split(separator) : [this.fail('Fn::Split')];
      }
      case 'Fn::Sub': {
        const [text, variables] = Array.isArray(arg) ? arg : [arg, {}];
        const values: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(variables ?? {})) values[k] = this.resolveValue(v);
        return String(text).replace(/\$\{([^}!][^}]*)\}/g, (_m, expr: string) => {
          if (expr in values) return String(values[expr]);
          const dot = expr.indexOf('.');
          if (dot > 0 && !expr.startsWith('AWS::')) return String(this.getAtt(expr.slice(0, dot), expr.slice(dot + 1)));
          return String(this.ref(expr));
        });
      }
      case 'Fn::ImportValue': {
        const key = this.resolveValue(arg);
        const imports = this.links.imports;
        return imports && imports.has(key) ? imports.get(key) : this.fail(`ImportValue ${key}`);
      }
      case 'Fn::GetStackOutput':
        return this.stackOutput(arg);
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).map((a) => this.resolveValue(a));
        const value = this.template.Mappings?.[map]?.[top]?.[second];
        return value === undefined ? this.fail(`FindInMap ${map}`) : this.resolveValue(value);
      }
      case 'Fn::If': {
        // A condition on deploy-time parameters cannot be decided offline: say so rather than guess a side.
        const [condition, whenTrue, whenFalse] = arg;
        const known = this.condition(condition);
        if (known === undefined) return this.fail(`Fn::If ${condition}`);
        return this.resolveValue(known ? whenTrue : whenFalse);
      }
      case 'Fn::Base64':
        return this.resolveValue(arg);
      case 'Fn::GetAZs':
        return [`${this.env.region}a`, `${this.env.region}b`, `${this.env.region}c`];
      case 'Condition':
        return this.condition(String(arg)) ?? this.fail(`Condition ${arg}`);
      default:
        return this.fail(name);
    }
  }

  /**
   * `Fn::GetStackOutput {StackName, OutputName, Region?, RoleArn?}`: the weak cross-stack reference that
   * `@aws-cdk/core:defaultCrossStackReferences` = weak (the `cdk init` default) renders. Resolved from the
   * producing stack's output, as `Fn::ImportValue` is from its export.
   */
  private stackOutput(arg: any): any {
    const spec = this.resolveValue(arg);
    const stackName = spec && typeof spec === 'object' ? spec.StackName : undefined;
    const output = spec && typeof spec === 'object' ? spec.OutputName : undefined;
    const region = spec && typeof spec === 'object' ? spec.Region : undefined;
    if (typeof stackName !== 'string' || typeof output !== 'string' || isUnresolved(stackName) || isUnresolved(output)) {
      return this.fail(`GetStackOutput ${JSON.stringify(arg)}`);
    }
    const value = this.links.stackOutput?.(stackName, typeof region === 'string' && !isUnresolved(region) ? region : undefined, output);
    return value === undefined ? this.fail(`GetStackOutput ${stackName}.${output}`) : value;
  }

  /** A template condition, when it depends only on values known offline. */
  private condition(name: string): boolean | undefined {
    const expression = this.template.Conditions?.[name];
    if (expression === undefined) return undefined;
    return this.evaluateCondition(expression);
  }

  private evaluateCondition(expression: any): boolean | undefined {
    if (!expression || typeof expression !== 'object') return undefined;
    const [op] = Object.keys(expression);
    const arg = expression[op];
    switch (op) {
      case 'Fn::Equals': {
        const [a, b] = (arg as unknown[]).map((x) => this.resolveValue(x));
        if (isUnresolved(a) || isUnresolved(b)) return undefined;
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not': {
        const inner = this.evaluateCondition(arg[0]);
        return inner === undefined ? undefined : !inner;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const values = (arg as unknown[]).map((x) => this.evaluateCondition(x));
        if (values.some((v) => v === undefined)) return undefined;
        return op === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Condition':
        return this.condition(String(arg));
      default:
        return undefined;
    }
  }
}
