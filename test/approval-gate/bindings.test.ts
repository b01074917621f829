import { App, Stack } from 'aws-cdk-lib';
import { GatedOperation } from '../../lib';
import {
  KNOWN_BINDINGS,
  MAX_REQUEST_BYTES,
  STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES,
  checkBinding,
  placeholdersOf,
  requestIdFromPath,
  requestIdPath,
  requestIdProblem,
  requestSizeProblem,
  requestTagValue,
} from '../../lib/approval-gate/runtime/approval-binding';

// The operations a human approves instead, now that production is read-only to agents.
const OPS: ReadonlyArray<[service: string, action: string, resource: string, parameters: Record<string, unknown>, target: string]> = [
  [
    'rds',
    'RebootDBInstance',
    'arn:aws:rds:us-east-1:123456789012:db:orders',
    { DBInstanceIdentifier: 'orders' },
    'arn:aws:rds:us-east-1:123456789012:db:orders',
  ],
  [
    'rds',
    'FailoverDBCluster',
    'arn:aws:rds:us-east-1:123456789012:cluster:core',
    { DBClusterIdentifier: 'core' },
    'arn:aws:rds:us-east-1:123456789012:cluster:core',
  ],
  [
    'autoscaling',
    'SetDesiredCapacity',
    'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web',
    { AutoScalingGroupName: 'web', DesiredCapacity: 4 },
    'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/web',
  ],
  [
    'ecs',
    'UpdateService',
    'arn:aws:ecs:us-east-1:123456789012:service/prod/api',
    { Cluster: 'prod', Service: 'api', DesiredCount: 6 },
    'arn:aws:ecs:us-east-1:123456789012:service/prod/api',
  ],
  [
    'ec2',
    'AuthorizeSecurityGroupIngress',
    'arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abc',
    { GroupId: 'sg-0abc' },
    'arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abc',
  ],
  [
    'ec2',
    'ReplaceRoute',
    'arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0abc',
    { RouteTableId: 'rtb-0abc' },
    'arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0abc',
  ],
  [
    'secretsmanager',
    'RotateSecret',
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-*',
    { SecretId: 'db-password' },
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-??????',
  ],
  [
    'elasticloadbalancing',
    'ModifyListener',
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2',
    { ListenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2' },
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2',
  ],
  [
    'lambda',
    'PutFunctionConcurrency',
    'arn:aws:lambda:us-east-1:123456789012:function:worker',
    { FunctionName: 'worker', ReservedConcurrentExecutions: 10 },
    'arn:aws:lambda:us-east-1:123456789012:function:worker',
  ],
];

describe('ready bindings for the operations an ops agent asks a human for', () => {
  test.each(OPS)(
    '%s:%s needs no hand-written binding, and the approver sees what the parameters name',
    (service, action, resource, parameters, target) => {
      // GIVEN the operation gated without a resourceArn
      const op = GatedOperation.of({ service, action, resources: [resource] });
      expect(KNOWN_BINDINGS[`${service}:${action}`.toLowerCase()]).toBeDefined();
      // WHEN a request's parameters are checked as the workflow and handler check them
      const pseudo = (arn: string) =>
        arn.replace('${AWS::Partition}', 'aws').replace('${AWS::Region}', 'us-east-1').replace('${AWS::AccountId}', '123456789012');
      const bound = [
        {
          operation: op.iamAction,
          resources: [resource],
          resourceArn: pseudo(op.resourceArn),
          acceptsArn: KNOWN_BINDINGS[op.iamAction.toLowerCase()].acceptsArn,
        },
      ];
      // THEN the derived target is the resource, and a request naming another resource is refused
      expect(checkBinding(bound, op.iamAction, target, parameters)).toEqual(expect.objectContaining({ target }));
      expect(checkBinding(bound, op.iamAction, target.replace(/[a-z0-9-]+(\*|\?+)?$/, 'other$1'), parameters).refusal).toBeDefined();
    },
  );

  test('fails when an array-valued identifier is gated without a binding (ec2:StopInstances takes a list of instances)', () => {
    const app = new App();
    new Stack(app, 'S');
    expect(() =>
      GatedOperation.of({ service: 'ec2', action: 'StopInstances', resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0abc'] }),
    ).toThrow(/no known binding/);
  });
});

/**
 * The request members of each bound API as the service's API model names them. From the installed
 * SDK's own model where the client is installed (@aws-sdk/client-dynamodb, -iam, -lambda, -sns),
 * otherwise from the API reference (https://docs.aws.amazon.com/<service>/latest/APIReference/API_<Action>.html).
 */
const API_REFERENCE_MEMBERS: Record<string, string[]> = {
  'rds:deletedbinstance': ['DBInstanceIdentifier', 'SkipFinalSnapshot', 'FinalDBSnapshotIdentifier', 'DeleteAutomatedBackups'],
  'rds:modifydbinstance': ['DBInstanceIdentifier'],
  'rds:rebootdbinstance': ['DBInstanceIdentifier', 'ForceFailover'],
  'rds:stopdbinstance': ['DBInstanceIdentifier', 'DBSnapshotIdentifier'],
  'rds:startdbinstance': ['DBInstanceIdentifier'],
  'rds:deletedbcluster': ['DBClusterIdentifier', 'SkipFinalSnapshot', 'FinalDBSnapshotIdentifier'],
  'rds:modifydbcluster': ['DBClusterIdentifier'],
  'rds:stopdbcluster': ['DBClusterIdentifier'],
  'rds:startdbcluster': ['DBClusterIdentifier'],
  'rds:rebootdbcluster': ['DBClusterIdentifier'],
  'rds:failoverdbcluster': ['DBClusterIdentifier', 'TargetDBInstanceIdentifier'],
  'rds:deletedbsnapshot': ['DBSnapshotIdentifier'],
  'rds:deletedbclustersnapshot': ['DBClusterSnapshotIdentifier'],
  'cloudformation:updatestack': ['StackName', 'TemplateBody', 'TemplateURL'],
  'cloudformation:deletestack': ['StackName', 'RetainResources', 'RoleARN', 'ClientRequestToken'],
  's3:deletebucket': ['Bucket', 'ExpectedBucketOwner'],
  's3:deletebucketpolicy': ['Bucket', 'ExpectedBucketOwner'],
  's3:putbucketpolicy': ['Bucket', 'Policy'],
  's3:deleteobject': ['Bucket', 'Key', 'VersionId'],
  'kms:schedulekeydeletion': ['KeyId', 'PendingWindowInDays'],
  // camelCase in the service's API: Step Functions takes them in PascalCase.
  'ecr:deleterepository': ['registryId', 'repositoryName', 'force'],
  'eks:deletecluster': ['name'],
  'ecs:updateservice': ['cluster', 'service', 'desiredCount', 'taskDefinition'],
  'elasticache:rebootcachecluster': ['CacheClusterId', 'CacheNodeIdsToReboot'],
  'autoscaling:setdesiredcapacity': ['AutoScalingGroupName', 'DesiredCapacity', 'HonorCooldown'],
  'autoscaling:updateautoscalinggroup': ['AutoScalingGroupName', 'MinSize', 'MaxSize', 'DesiredCapacity'],
  'ec2:authorizesecuritygroupingress': ['GroupId', 'IpPermissions'],
  'ec2:revokesecuritygroupingress': ['GroupId', 'IpPermissions'],
  'ec2:authorizesecuritygroupegress': ['GroupId', 'IpPermissions'],
  'ec2:revokesecuritygroupegress': ['GroupId', 'IpPermissions'],
  'ec2:createroute': ['RouteTableId', 'DestinationCidrBlock'],
  'ec2:replaceroute': ['RouteTableId', 'DestinationCidrBlock'],
  'ec2:deleteroute': ['RouteTableId', 'DestinationCidrBlock'],
  'secretsmanager:rotatesecret': ['SecretId', 'RotationLambdaARN', 'RotateImmediately'],
  'secretsmanager:putsecretvalue': ['SecretId', 'SecretString', 'SecretBinary'],
  'elasticloadbalancing:modifylistener': ['ListenerArn', 'Port', 'Protocol', 'DefaultActions'],
  'elasticloadbalancing:modifyrule': ['RuleArn', 'Conditions', 'Actions'],
};

const SDK_CLIENTS: Record<string, string> = {
  dynamodb: '@aws-sdk/client-dynamodb',
  iam: '@aws-sdk/client-iam',
  lambda: '@aws-sdk/client-lambda',
  sns: '@aws-sdk/client-sns',
};

/** The input members of an API from the installed SDK schema (`<Action>Request$` or `<Action>Input$`: [3, namespace, name, traits, members]). */
function sdkMembers(service: string, action: string): string[] | undefined {
  const client = SDK_CLIENTS[service];
  if (!client) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's model, read as data
  const sdk = require(client);
  const name = Object.keys(sdk).find((k) => k.toLowerCase() === `${action}request$` || k.toLowerCase() === `${action}input$`);
  const schema = name ? sdk[name] : undefined;
  if (!Array.isArray(schema) || !Array.isArray(schema[4])) throw new Error(`no input schema for ${service}:${action} in ${client}`);
  return schema[4];
}

const pascal = (member: string) => member.charAt(0).toUpperCase() + member.slice(1);

describe('every known binding names the members Step Functions passes to the API (class 7)', () => {
  test.each(Object.keys(KNOWN_BINDINGS))('fails when %s binds a parameter that is not a member of the API in PascalCase', (key) => {
    // GIVEN the API's request members, from the SDK model or the API reference
    const [service, action] = key.split(':');
    const members = sdkMembers(service, action) ?? API_REFERENCE_MEMBERS[key];
    expect(members).toBeDefined();
    // THEN each placeholder is one of them, spelled as Step Functions' AWS SDK integration takes it
    // (PascalCase even where the API is camelCase): RepositoryName, never repositoryName
    for (const placeholder of placeholdersOf(KNOWN_BINDINGS[key].resourceArn)) {
      expect(members!.map(pascal)).toContain(placeholder);
    }
  });

  test('the SDK model is really read: DeleteFunction takes FunctionName and Qualifier', () => {
    expect(sdkMembers('lambda', 'deletefunction')).toEqual(['FunctionName', 'Qualifier']);
    expect(sdkMembers('dynamodb', 'deletetable')).toEqual(['TableName']);
  });

  test('an ECR repository deletion can reach approvers: its parameters name the repository as Step Functions sends them', () => {
    const op = GatedOperation.of({ service: 'ecr', action: 'DeleteRepository', resources: ['arn:aws:ecr:us-east-1:123456789012:repository/web'] });
    const bound = [
      {
        operation: op.iamAction,
        resources: ['arn:aws:ecr:us-east-1:123456789012:repository/web'],
        resourceArn: 'arn:aws:ecr:us-east-1:123456789012:repository/{RepositoryName}',
        acceptsArn: false,
      },
    ];
    expect(op.resourceArn).toContain('{RepositoryName}');
    expect(checkBinding(bound, op.iamAction, 'arn:aws:ecr:us-east-1:123456789012:repository/web', { RepositoryName: 'web' }).refusal).toBeUndefined();
  });
});

describe('request ids: every execution name Step Functions accepts is routable, anything else is refused clearly (class 7)', () => {
  // Accepted by StartExecution (1-80 characters, none of the forbidden ones), and not [A-Za-z0-9_-]
  const ACCEPTED = ['req.1', '..', '.', "o'brien", 'a+b=c', 'ünïcödé-Ωμέγα', 'x!(1)@home', 'é'.repeat(80), '\u202eevil'.replace('\\u202e', '\u202e')];
  test.each(ACCEPTED.map((id, i) => [i, id]))('fails when accepted id #%i cannot be carried in one path segment', (_i, id) => {
    expect(requestIdProblem(id)).toBeUndefined();
    const segment = requestIdPath(id);
    // one segment, nothing a URL parser normalises away (., ..), and it decodes back exactly
    expect(segment).toMatch(/^~?[A-Za-z0-9_-]+$/);
    expect(new URL(`https://h/requests/${segment}/approve`).pathname).toBe(`/requests/${segment}/approve`);
    expect(requestIdFromPath(segment)).toBe(id);
  });

  test('fails when an accepted id is not a session tag value STS accepts, or two ids share one tag value', () => {
    // GIVEN every accepted id, plain ids and ids that look like an encoding (=...)
    const ids = [...ACCEPTED, 'req-1_A', 'orders.failover@2026', '=abc', `=${Buffer.from('x!').toString('base64url')}`, 'x!', 'ü'.repeat(80)];
    const values = ids.map(requestTagValue);
    // THEN each is a value STS accepts (API reference, Tag: 0-256 of letters, numbers, separators and _ . : / = + - @)
    for (const value of values) expect(value).toMatch(/^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u);
    // AND no two ids share one, so the tag names exactly one request in CloudTrail
    expect(new Set(values).size).toBe(ids.length);
    // AND plain ids stay readable; others are encoded, a long one digested
    expect(requestTagValue('orders.failover@2026')).toBe('orders.failover@2026');
    expect(requestTagValue("o'brien")).toBe(`=${Buffer.from("o'brien").toString('base64url')}`);
    expect(requestTagValue('é'.repeat(80))).toBe(`=${Buffer.from('é'.repeat(80)).toString('base64url')}`);
    expect(requestTagValue('x!'.repeat(40))).toBe(`=${Buffer.from('x!'.repeat(40)).toString('base64url')}`);
    expect(requestTagValue('\u{1F600}'.repeat(80))).toMatch(/^=sha256\.[A-Za-z0-9_-]{43}$/);
  });

  test('fails when a path segment decodes to an id by more than one spelling, or a plain id is not itself', () => {
    expect(requestIdPath('req-1_A')).toBe('req-1_A');
    expect(requestIdFromPath('req-1_A')).toBe('req-1_A');
    // the plain id in base64url is not its canonical path, and neither is anything outside the alphabet
    expect(requestIdFromPath(`~${Buffer.from('req-1_A').toString('base64url')}`)).toBeUndefined();
    expect(requestIdFromPath('req.1')).toBeUndefined();
    expect(requestIdFromPath('~!!')).toBeUndefined();
  });

  test.each([
    ['', /1 to 80 characters, this one has 0/],
    ['x'.repeat(81), /this one has 81/],
    ['a b', /whitespace/],
    ['a/b', /whitespace/],
    ['a%2Fb', /whitespace/],
    ['a\u0007b'.replace('\\u0007', '\u0007'), /control/],
    ['a\ud800b', /lone surrogate/],
  ])('fails when %j is taken as a request id', (id, message) => {
    expect(requestIdProblem(id)).toMatch(message);
  });
});

describe('very large requests are refused with the limit and the size received (class 7)', () => {
  test('fails when a request that cannot travel through the workflow is not refused, or one that can is', () => {
    expect(MAX_REQUEST_BYTES).toBeLessThan(STEP_FUNCTIONS_PAYLOAD_LIMIT_BYTES / 2);
    const small = { operation: 'rds:DeleteDBInstance', parameters: { DBInstanceIdentifier: 'orders' }, reason: 'x' };
    expect(requestSizeProblem(small)).toBeUndefined();
    const big = { ...small, parameters: { DBInstanceIdentifier: 'orders', Blob: 'é'.repeat(40_000) } };
    const problem = requestSizeProblem(big);
    expect(problem).toMatch(
      new RegExp(`the request is ${Buffer.byteLength(JSON.stringify(big))} bytes as JSON, above the gate's limit of ${MAX_REQUEST_BYTES} bytes`),
    );
    expect(problem).toMatch(/262144-byte payload limit/);
    expect(problem).toMatch(/pass large content by reference/);
  });
});

describe('a target derived from the parameters names one resource, never a family (review MEDIUM-3)', () => {
  // GIVEN a gate that allows a family of clusters by pattern (allowed by GatedOperation, refused as a request's target)
  const family = 'arn:aws:rds:eu-west-1:111122223333:cluster:orders-*';
  const bound = [
    {
      operation: 'rds:FailoverDBCluster',
      resources: [family],
      resourceArn: 'arn:aws:rds:eu-west-1:111122223333:cluster:{DBClusterIdentifier}',
      acceptsArn: true,
    },
  ];
  const arnOf = (id: string) => `arn:aws:rds:eu-west-1:111122223333:cluster:${id}`;

  test.each(['orders-*', 'orders-????????', 'orders-${aws:username}', 'orders-a*b'])(
    'fails when the parameters name %s: refused with the character found and the fix, though the pattern matches',
    (identifier) => {
      // WHEN a request names the resource with a wildcard or a policy variable
      const check = checkBinding(bound, 'rds:FailoverDBCluster', arnOf(identifier), { DBClusterIdentifier: identifier });
      // THEN it is refused (the notifier asks nobody, the handler approves nothing, the collector issues nothing)
      expect(check.refusal).toMatch(/a wildcard or policy variable, not one resource; name exactly one resource/);
      expect(check.refusal).toContain(arnOf(identifier));
    },
  );

  test('fails when a full ARN with a wildcard is given where the parameter accepts an ARN', () => {
    const check = checkBinding(bound, 'rds:FailoverDBCluster', family, { DBClusterIdentifier: family });
    expect(check.refusal).toMatch(/holds "\*"/);
  });

  test('one concrete member of the family is accepted', () => {
    expect(checkBinding(bound, 'rds:FailoverDBCluster', arnOf('orders-7'), { DBClusterIdentifier: 'orders-7' })).toEqual({
      target: arnOf('orders-7'),
    });
  });
});
