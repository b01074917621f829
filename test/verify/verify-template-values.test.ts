import { TemplateResolver, UNRESOLVED_PREFIX, isUnresolved } from '../../lib/verify/model/template-values';

const env = { stackName: 'Prod', account: '123456789012', region: 'eu-west-1', partition: 'aws' };

describe('resolving the intrinsics of a synthesized template offline', () => {
  const template = {
    Parameters: { Stage: { Type: 'String', Default: 'prod' }, Secret: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/app/secret' } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] }, Unknowable: { 'Fn::Equals': [{ Ref: 'Secret' }, 'x'] } },
    Mappings: { Sizes: { prod: { Capacity: '10' } } },
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'orders' } },
      Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
      Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/app/logs' } },
    },
  };
  const imports = new Map<string, unknown>([['Shared:KeyArn', 'arn:aws:kms:eu-west-1:123456789012:key/abc']]);
  const resolver = new TemplateResolver(env, template, { imports });

  test('names, ARNs and pseudo parameters resolve as a deployment would', () => {
    expect(resolver.resolve({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/orders');
    expect(resolver.resolve({ Ref: 'Table' })).toBe('orders');
    // a generated name is stable, and the same for Ref and GetAtt
    expect(resolver.resolve({ 'Fn::GetAtt': ['Bucket', 'Arn'] })).toBe(`arn:aws:s3:::${resolver.resolve({ Ref: 'Bucket' })}`);
    // SNS topics are referenced by ARN
    expect(resolver.resolve({ Ref: 'Topic' })).toMatch(/^arn:aws:sns:eu-west-1:123456789012:/);
    expect(resolver.resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] })).toBe('arn:aws:logs:eu-west-1:123456789012:log-group:/app/logs:*');
    expect(resolver.resolve({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'Bucket' }, '/*']] })).toMatch(
      /^arn:aws:s3:::.+\/\*$/,
    );
  });

  test('Fn::Sub, Fn::Select/Split, Fn::FindInMap, Fn::ImportValue and decidable Fn::If', () => {
    expect(resolver.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}/index/*' })).toBe(
      'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/*',
    );
    expect(resolver.resolve({ 'Fn::Sub': ['${Arn}/stream/*', { Arn: { 'Fn::GetAtt': ['Table', 'Arn'] } }] })).toBe(
      'arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/*',
    );
    expect(resolver.resolve({ 'Fn::Sub': '${Table.Arn}' })).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/orders');
    expect(resolver.resolve({ 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] })).toBe('b');
    expect(resolver.resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'Capacity'] })).toBe('10');
    expect(resolver.resolve({ 'Fn::ImportValue': 'Shared:KeyArn' })).toBe('arn:aws:kms:eu-west-1:123456789012:key/abc');
    expect(resolver.resolve({ 'Fn::If': ['IsProd', 'yes', 'no'] })).toBe('yes');
    expect(resolver.resolve(['a', { Ref: 'AWS::NoValue' }, 'b'])).toEqual(['a', 'b']);
  });

  test('what cannot be known offline becomes an unresolved marker and is recorded, never a guess', () => {
    const values = [
      resolver.resolve({ 'Fn::ImportValue': 'Other:Missing' }),
      resolver.resolve({ Ref: 'Secret' }),
      resolver.resolve({ 'Fn::If': ['Unknowable', 'a', 'b'] }),
      resolver.resolve({ 'Fn::GetAtt': ['Table', 'LatestStreamLabel'] }),
      resolver.resolve({ Ref: 'NoSuchResource' }),
    ];
    for (const value of values) expect(isUnresolved(value)).toBe(true);
    expect([...resolver.unresolved]).toEqual(
      expect.arrayContaining(['ImportValue Other:Missing', 'parameter Secret', 'Fn::If Unknowable', 'Ref NoSuchResource']),
    );
    expect(String(values[0]).startsWith(UNRESOLVED_PREFIX)).toBe(true);
  });
});
