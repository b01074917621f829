/**
 * Resolves the CloudFormation intrinsics of a synthesized template into the values a deployment
 * would produce, with fixed account, region and physical names, so that the synthesized policies
 * can be evaluated as AWS would see them. Anything it cannot resolve throws: a test must never
 * evaluate a policy it did not fully understand.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

export type Template = { Resources: Record<string, { Type: string; Properties?: any }> };

/** The physical name CloudFormation would give a resource, stable per logical id. */
export function physicalName(logicalId: string): string {
  return logicalId.toLowerCase();
}

const ARN_ATTRIBUTE: Record<string, (name: string) => string> = {
  'AWS::DynamoDB::Table': (n) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${n}`,
  'AWS::DynamoDB::GlobalTable': (n) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${n}`,
  'AWS::SNS::Topic': (n) => `arn:aws:sns:${REGION}:${ACCOUNT}:${n}`,
  'AWS::S3::Bucket': (n) => `arn:aws:s3:::${n}`,
  'AWS::SQS::Queue': (n) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${n}`,
  'AWS::KMS::Key': (n) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${n}`,
  'AWS::IAM::Role': (n) => `arn:aws:iam::${ACCOUNT}:role/${n}`,
  'AWS::Lambda::Function': (n) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${n}`,
  'AWS::Logs::LogGroup': (n) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${n}:*`,
  'AWS::RDS::DBInstance': (n) => `arn:aws:rds:${REGION}:${ACCOUNT}:db:${n}`,
  'AWS::RDS::DBCluster': (n) => `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:${n}`,
  'AWS::StepFunctions::StateMachine': (n) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${n}`,
  'AWS::ECS::Cluster': (n) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${n}`,
  'AWS::EFS::FileSystem': (n) => `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:file-system/${n}`,
  'AWS::CloudTrail::Trail': (n) => `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${n}`,
  'AWS::Events::Rule': (n) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${n}`,
};

const REF_VALUE: Record<string, (name: string) => string> = {
  'AWS::IAM::ManagedPolicy': (n) => `arn:aws:iam::${ACCOUNT}:policy/${n}`,
  'AWS::SNS::Topic': (n) => `arn:aws:sns:${REGION}:${ACCOUNT}:${n}`,
  'AWS::SQS::Queue': (n) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${n}`,
  'AWS::SecretsManager::Secret': (n) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${n}`,
  'AWS::StepFunctions::StateMachine': (n) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${n}`,
};

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': PARTITION,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'stack',
};

export class TemplateResolver {
  constructor(
    private readonly template: Template,
    private readonly imports: Record<string, unknown> = {},
  ) {}

  public resolve(value: any): any {
    if (Array.isArray(value)) {
      return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') {
      return value;
    }
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.resolve(v);
      if (resolved !== NO_VALUE) {
        out[k] = resolved;
      }
    }
    return out;
  }

  private intrinsic(name: string, arg: any): any {
    switch (name) {
      case 'Ref': {
        if (arg === 'AWS::NoValue') {
          return NO_VALUE;
        }
        if (PSEUDO[arg]) {
          return PSEUDO[arg];
        }
        const parameter = (this.template as { Parameters?: Record<string, { Default?: unknown }> }).Parameters?.[arg];
        if (parameter) {
          // a parameter without a default is taken at its worst: "*"
          return parameter.Default ?? '*';
        }
        const resource = this.resourceOf(arg);
        return REF_VALUE[resource.Type]?.(this.nameOf(arg, resource)) ?? this.nameOf(arg, resource);
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        const resource = this.resourceOf(logicalId);
        const arn = ARN_ATTRIBUTE[resource.Type];
        if (arn && /Arn$/.test(attribute)) {
          return arn(this.nameOf(logicalId, resource));
        }
        throw new Error(`test resolver: cannot resolve Fn::GetAtt ${logicalId}.${attribute} of ${resource.Type}`);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg;
        return this.resolve(parts).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg;
        return this.resolve(list)[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [sep, str] = arg;
        return String(this.resolve(str)).split(sep);
      }
      case 'Fn::ImportValue': {
        const key = this.resolve(arg);
        if (!(key in this.imports)) {
          throw new Error(`test resolver: no export named ${key}`);
        }
        return this.imports[key];
      }
      default:
        throw new Error(`test resolver: unsupported intrinsic ${name}`);
    }
  }

  private resourceOf(logicalId: string) {
    const resource = this.template.Resources[logicalId];
    if (!resource) {
      throw new Error(`test resolver: no resource ${logicalId}`);
    }
    return resource;
  }

  private nameOf(logicalId: string, resource: { Type: string; Properties?: any }): string {
    const props = resource.Properties ?? {};
    const explicit =
      props.TableName ??
      props.BucketName ??
      props.QueueName ??
      props.RoleName ??
      props.ManagedPolicyName ??
      props.DBInstanceIdentifier ??
      props.FunctionName;
    return typeof explicit === 'string' ? explicit : physicalName(logicalId);
  }
}

export const NO_VALUE = Symbol('AWS::NoValue');
