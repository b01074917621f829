import { evaluate } from '../../lib/evaluator';

const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent`;

/** Decides one request against a single Allow statement built from the given elements. */
function allows(
  statement: object,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
  version = '2012-10-17',
): boolean {
  const decision = evaluate({
    principal: PRINCIPAL,
    action,
    resource,
    context,
    identityPolicies: [{ Version: version, Statement: [{ Effect: 'Allow', ...statement }] }],
  });
  return decision === 'Allowed';
}

describe('Action and NotAction', () => {
  const table = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`;

  test('actions match case-insensitively', () => {
    expect(allows({ Action: 'DynamoDB:deletetable', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(true);
  });

  test('* matches any run of characters and ? exactly one', () => {
    expect(allows({ Action: 'dynamodb:Delete*', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(true);
    expect(allows({ Action: 'dynamodb:*Table', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(true);
    expect(allows({ Action: 'dynamodb:Delete?able', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(true);
    expect(allows({ Action: 'dynamodb:Delete?', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(false);
  });

  test('the service prefix must match exactly', () => {
    expect(allows({ Action: 'dynamodbx:*', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(false);
    expect(allows({ Action: 's3:DeleteTable', Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(false);
  });

  test('"*" matches every action', () => {
    expect(allows({ Action: '*', Resource: '*' }, 'iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/x`)).toBe(true);
  });

  test('NotAction applies to every action not listed', () => {
    expect(allows({ NotAction: ['iam:*', 'dynamodb:Delete*'], Resource: '*' }, 'dynamodb:GetItem', table)).toBe(true);
    expect(allows({ NotAction: ['iam:*', 'dynamodb:Delete*'], Resource: '*' }, 'dynamodb:DeleteTable', table)).toBe(false);
  });

  test('a NotAction Deny denies everything except the listed actions', () => {
    const decision = evaluate({
      principal: PRINCIPAL,
      action: 'dynamodb:DeleteTable',
      resource: table,
      context: {},
      identityPolicies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: '*', Resource: '*' },
            { Effect: 'Deny', NotAction: 'dynamodb:Get*', Resource: '*' },
          ],
        },
      ],
    });
    expect(decision).toBe('ExplicitlyDenied');
  });
});

describe('Resource and NotResource', () => {
  const fn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-api`;

  test('an exact ARN matches', () => {
    expect(allows({ Action: '*', Resource: fn }, 'lambda:DeleteFunction', fn)).toBe(true);
  });

  test('a wildcard in the resource segment spans colons and slashes', () => {
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:*` }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', Resource: 'arn:aws:s3:::bucket/*' }, 's3:GetObject', 'arn:aws:s3:::bucket/a/b/c.txt')).toBe(true);
  });

  test('a * ending a segment may expand across colons; a * inside a segment stays in it', () => {
    // reference_policies_elements_resource, "Using wildcards in resource ARNs": "If the * wildcard is the last
    // character of a resource ARN segment, it can expand to match beyond the colon boundaries."
    expect(allows({ Action: '*', Resource: 'arn:aws:lambda:*:function:orders-api' }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:*:${ACCOUNT}:function:orders-api` }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', Resource: 'arn:aws:lambda:us-*-1x:function:orders-api' }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('a short ARN counts as if the missing segments were wildcards', () => {
    expect(allows({ Action: '*', Resource: 'arn:aws:lambda:us-east-1' }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', Resource: 'arn:aws:s3' }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('? matches exactly one character', () => {
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-ap?` }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-a?` }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('resources match case-sensitively', () => {
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:Orders-api` }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('another account or region does not match', () => {
    expect(allows({ Action: '*', Resource: 'arn:aws:lambda:us-east-1:111122223333:function:*' }, 'lambda:DeleteFunction', fn)).toBe(false);
    expect(allows({ Action: '*', Resource: `arn:aws:lambda:eu-*:${ACCOUNT}:function:*` }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('NotResource applies to every resource not listed', () => {
    expect(allows({ Action: '*', NotResource: `arn:aws:lambda:*:${ACCOUNT}:function:prod-*` }, 'lambda:DeleteFunction', fn)).toBe(true);
    expect(allows({ Action: '*', NotResource: `arn:aws:lambda:*:${ACCOUNT}:function:orders-*` }, 'lambda:DeleteFunction', fn)).toBe(false);
  });

  test('the request resource "*" (actions without resource-level permissions) is matched only by "*"', () => {
    expect(allows({ Action: '*', Resource: '*' }, 'ec2:DescribeInstances', '*')).toBe(true);
    expect(allows({ Action: '*', Resource: `arn:aws:ec2:*:${ACCOUNT}:instance/*` }, 'ec2:DescribeInstances', '*')).toBe(false);
    expect(allows({ Action: '*', NotResource: `arn:aws:ec2:*:${ACCOUNT}:instance/*` }, 'ec2:DescribeInstances', '*')).toBe(true);
  });
});

describe('policy variables', () => {
  const bucketObject = (user: string) => `arn:aws:s3:::home/${user}/notes.txt`;

  test('${aws:username} is replaced by the request value', () => {
    const st = { Action: 's3:GetObject', Resource: 'arn:aws:s3:::home/${aws:username}/*' };
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:username': 'alice' })).toBe(true);
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:username': 'bob' })).toBe(false);
  });

  test('an entry whose variable has no value matches no resource, so under NotResource it excludes nothing', () => {
    // reference_policies_variables, "Policy variables with no value": such a Resource or NotResource entry matches no resource.
    expect(allows({ Action: '*', Resource: 'arn:aws:s3:::home/${aws:username}/*' }, 's3:GetObject', bucketObject('alice'))).toBe(false);
    expect(allows({ Action: '*', NotResource: 'arn:aws:s3:::home/${aws:username}/*' }, 's3:GetObject', bucketObject('alice'))).toBe(true);
  });

  test('a default value stands in for an absent key', () => {
    const st = { Action: '*', Resource: "arn:aws:s3:::home/${aws:PrincipalTag/home, 'shared'}/*" };
    expect(allows(st, 's3:GetObject', bucketObject('shared'))).toBe(true);
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:PrincipalTag/home': 'alice' })).toBe(true);
  });

  test('${aws:PrincipalTag/x} is looked up case-insensitively', () => {
    const st = { Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:ResourceTag/team': '${aws:PrincipalTag/team}' } } };
    expect(allows(st, 's3:GetObject', bucketObject('a'), { 'AWS:PRINCIPALTAG/TEAM': 'ops', 'aws:resourcetag/team': 'ops' })).toBe(true);
    expect(allows(st, 's3:GetObject', bucketObject('a'), { 'aws:PrincipalTag/team': 'dev', 'aws:ResourceTag/team': 'ops' })).toBe(false);
  });

  test('${*}, ${?} and ${$} are a literal *, ? and $', () => {
    const like = (value: string, actual: string) =>
      allows({ Action: '*', Resource: '*', Condition: { StringLike: { 'aws:PrincipalTag/x': value } } }, 's3:GetObject', bucketObject('a'), {
        'aws:PrincipalTag/x': actual,
      });
    expect(like('a${*}', 'a*')).toBe(true);
    expect(like('a${*}', 'abc')).toBe(false);
    expect(like('a${?}', 'a?')).toBe(true);
    expect(like('a${?}', 'ab')).toBe(false);
    expect(like('${$}{x}', '${x}')).toBe(true);
  });

  test('a substituted value is literal text even if it contains wildcards', () => {
    const st = { Action: '*', Resource: 'arn:aws:s3:::home/${aws:username}/*' };
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:username': '*' })).toBe(false);
  });

  test('policy Version 2008-10-17 (or no Version) has no variables: ${...} is literal text', () => {
    const st = { Action: '*', Resource: 'arn:aws:s3:::home/${aws:username}/*' };
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:username': 'alice' }, '2008-10-17')).toBe(false);
    expect(allows(st, 's3:GetObject', 'arn:aws:s3:::home/${aws:username}/x', { 'aws:username': 'alice' }, '2008-10-17')).toBe(true);
  });

  test('a multivalued key cannot be a variable', () => {
    const st = { Action: '*', Resource: 'arn:aws:s3:::home/${aws:TagKeys}/*' };
    expect(allows(st, 's3:GetObject', bucketObject('alice'), { 'aws:TagKeys': ['alice'] })).toBe(false);
  });
});
