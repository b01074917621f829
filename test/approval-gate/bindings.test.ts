import { App, Stack } from 'aws-cdk-lib';
import { GatedOperation } from '../../lib';
import { KNOWN_BINDINGS, checkBinding } from '../../lib/approval-gate/runtime/approval-binding';

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
    { cluster: 'prod', service: 'api', desiredCount: 6 },
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
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-*',
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
      expect(checkBinding(bound, op.iamAction, target.replace(/[a-z0-9-]+(\*?)$/, 'other$1'), parameters).refusal).toBeDefined();
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
