import { evaluate } from '../../lib/evaluator';

const ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/agent`;

/** Whether a statement with this Condition block applies under the context. */
function holds(condition: object, context: Record<string, string | string[]>): boolean {
  return (
    evaluate({
      principal: PRINCIPAL,
      action: 'dynamodb:DeleteTable',
      resource: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`,
      context,
      identityPolicies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: condition }] }],
    }) === 'Allowed'
  );
}

const TAG = 'aws:ResourceTag/env';

describe('string operators', () => {
  test('StringEquals is case-sensitive and treats * literally', () => {
    expect(holds({ StringEquals: { [TAG]: 'prod' } }, { [TAG]: 'prod' })).toBe(true);
    expect(holds({ StringEquals: { [TAG]: 'prod' } }, { [TAG]: 'Prod' })).toBe(false);
    expect(holds({ StringEquals: { [TAG]: 'pr*' } }, { [TAG]: 'prod' })).toBe(false);
    expect(holds({ StringEquals: { [TAG]: 'pr*' } }, { [TAG]: 'pr*' })).toBe(true);
  });

  test('StringNotEquals holds when no value equals', () => {
    expect(holds({ StringNotEquals: { [TAG]: ['prod', 'staging'] } }, { [TAG]: 'dev' })).toBe(true);
    expect(holds({ StringNotEquals: { [TAG]: ['prod', 'staging'] } }, { [TAG]: 'staging' })).toBe(false);
  });

  test('StringEqualsIgnoreCase and StringNotEqualsIgnoreCase ignore case', () => {
    expect(holds({ StringEqualsIgnoreCase: { [TAG]: 'PROD' } }, { [TAG]: 'prod' })).toBe(true);
    expect(holds({ StringNotEqualsIgnoreCase: { [TAG]: 'PROD' } }, { [TAG]: 'Prod' })).toBe(false);
  });

  test('StringLike and StringNotLike use * and ?', () => {
    expect(holds({ StringLike: { [TAG]: 'pro*' } }, { [TAG]: 'production' })).toBe(true);
    expect(holds({ StringLike: { [TAG]: 'pro?' } }, { [TAG]: 'production' })).toBe(false);
    expect(holds({ StringNotLike: { [TAG]: ['pro*', 'stag*'] } }, { [TAG]: 'dev' })).toBe(true);
    expect(holds({ StringNotLike: { [TAG]: ['pro*', 'stag*'] } }, { [TAG]: 'staging' })).toBe(false);
  });
});

describe('numeric, date, boolean, binary operators', () => {
  test('Numeric operators compare numbers, not text', () => {
    const age = 'aws:MultiFactorAuthAge';
    expect(holds({ NumericLessThan: { [age]: '3600' } }, { [age]: '300' })).toBe(true);
    expect(holds({ NumericLessThan: { [age]: 3600 } }, { [age]: '7200' })).toBe(false);
    expect(holds({ NumericEquals: { [age]: '10' } }, { [age]: '10.0' })).toBe(true);
    expect(holds({ NumericNotEquals: { [age]: '10' } }, { [age]: '11' })).toBe(true);
    expect(holds({ NumericLessThanEquals: { [age]: '10' } }, { [age]: '10' })).toBe(true);
    expect(holds({ NumericGreaterThan: { [age]: '10' } }, { [age]: '10' })).toBe(false);
    expect(holds({ NumericGreaterThanEquals: { [age]: '10' } }, { [age]: '10' })).toBe(true);
  });

  test('a request value that is not a number satisfies neither a numeric operator nor its negation', () => {
    const age = 'aws:MultiFactorAuthAge';
    expect(holds({ NumericEquals: { [age]: '10' } }, { [age]: 'ten' })).toBe(false);
    expect(holds({ NumericNotEquals: { [age]: '10' } }, { [age]: 'ten' })).toBe(false);
  });

  test('Date operators compare ISO 8601 dates and epoch seconds', () => {
    const now = 'aws:CurrentTime';
    expect(holds({ DateLessThan: { [now]: '2026-12-31T00:00:00Z' } }, { [now]: '2026-11-24T22:00:00Z' })).toBe(true);
    expect(holds({ DateGreaterThan: { [now]: '2026-12-31T00:00:00Z' } }, { [now]: '2026-11-24T22:00:00Z' })).toBe(false);
    expect(holds({ DateEquals: { [now]: '2026-11-24T22:00:00Z' } }, { [now]: '2026-11-24T22:00:00.000Z' })).toBe(true);
    expect(holds({ DateNotEquals: { [now]: '2026-11-24T22:00:00Z' } }, { [now]: '2026-11-24T22:00:01Z' })).toBe(true);
    expect(holds({ DateLessThanEquals: { [now]: '1767225600' } }, { [now]: '2026-01-01T00:00:00Z' })).toBe(true);
    expect(holds({ DateGreaterThanEquals: { [now]: '2026-01-01T00:00:00Z' } }, { [now]: '1767225601' })).toBe(true);
  });

  test('Bool compares true/false case-insensitively', () => {
    const mfa = 'aws:MultiFactorAuthPresent';
    expect(holds({ Bool: { [mfa]: 'true' } }, { [mfa]: 'TRUE' })).toBe(true);
    expect(holds({ Bool: { [mfa]: true } }, { [mfa]: 'false' })).toBe(false);
    expect(holds({ Bool: { [mfa]: 'false' } }, { [mfa]: 'yes' })).toBe(false);
  });

  test('BinaryEquals compares the base64 text exactly', () => {
    expect(holds({ BinaryEquals: { 'aws:PrincipalTag/blob': 'QUJD' } }, { 'aws:PrincipalTag/blob': 'QUJD' })).toBe(true);
    expect(holds({ BinaryEquals: { 'aws:PrincipalTag/blob': 'QUJD' } }, { 'aws:PrincipalTag/blob': 'qujd' })).toBe(false);
  });
});

describe('IP address operators', () => {
  const ip = 'aws:SourceIp';

  test('IpAddress matches addresses inside a CIDR block (IPv4 and IPv6)', () => {
    expect(holds({ IpAddress: { [ip]: '203.0.113.0/24' } }, { [ip]: '203.0.113.77' })).toBe(true);
    expect(holds({ IpAddress: { [ip]: '203.0.113.0/24' } }, { [ip]: '203.0.114.1' })).toBe(false);
    expect(holds({ IpAddress: { [ip]: '2001:db8::/32' } }, { [ip]: '2001:db8:1::5' })).toBe(true);
    expect(holds({ IpAddress: { [ip]: '2001:db8::/32' } }, { [ip]: '2001:db9::5' })).toBe(false);
    expect(holds({ IpAddress: { [ip]: '0.0.0.0/0' } }, { [ip]: '198.51.100.1' })).toBe(true);
  });

  test('a bare address is a single-address block', () => {
    expect(holds({ IpAddress: { [ip]: '203.0.113.5' } }, { [ip]: '203.0.113.5' })).toBe(true);
    expect(holds({ IpAddress: { [ip]: '203.0.113.5' } }, { [ip]: '203.0.113.6' })).toBe(false);
  });

  test('NotIpAddress holds outside every block, across IP versions too', () => {
    expect(holds({ NotIpAddress: { [ip]: ['10.0.0.0/8', '192.168.0.0/16'] } }, { [ip]: '203.0.113.5' })).toBe(true);
    expect(holds({ NotIpAddress: { [ip]: ['10.0.0.0/8', '192.168.0.0/16'] } }, { [ip]: '10.2.3.4' })).toBe(false);
    expect(holds({ NotIpAddress: { [ip]: '10.0.0.0/8' } }, { [ip]: '2001:db8::1' })).toBe(true);
  });

  test('a request value that is not an IP satisfies neither IpAddress nor NotIpAddress', () => {
    expect(holds({ IpAddress: { [ip]: '0.0.0.0/0' } }, { [ip]: 'localhost' })).toBe(false);
    expect(holds({ NotIpAddress: { [ip]: '10.0.0.0/8' } }, { [ip]: 'localhost' })).toBe(false);
  });
});

describe('ARN operators', () => {
  const arn = 'aws:PrincipalArn';
  const agent = `arn:aws:iam::${ACCOUNT}:role/agent-ops`;

  test('ArnLike and ArnEquals match segment by segment with wildcards', () => {
    expect(holds({ ArnLike: { [arn]: `arn:aws:iam::${ACCOUNT}:role/agent-*` } }, { [arn]: agent })).toBe(true);
    expect(holds({ ArnEquals: { [arn]: 'arn:aws:iam::*:role/agent-ops' } }, { [arn]: agent })).toBe(true);
    expect(holds({ ArnLike: { [arn]: 'arn:aws:iam::*:role/admin' } }, { [arn]: agent })).toBe(false);
  });

  test('ArnLike is case-sensitive', () => {
    expect(holds({ ArnLike: { [arn]: `arn:aws:iam::${ACCOUNT}:role/Agent-ops` } }, { [arn]: agent })).toBe(false);
  });

  test('ArnNotLike and ArnNotEquals hold when no pattern matches', () => {
    expect(holds({ ArnNotLike: { [arn]: `arn:aws:iam::${ACCOUNT}:role/admin*` } }, { [arn]: agent })).toBe(true);
    expect(holds({ ArnNotEquals: { [arn]: agent } }, { [arn]: agent })).toBe(false);
  });

  test('a request value that is not an ARN satisfies neither ArnLike nor ArnNotLike', () => {
    expect(holds({ ArnLike: { [arn]: 'arn:aws:iam::*:role/*' } }, { [arn]: 'agent-ops' })).toBe(false);
    expect(holds({ ArnNotLike: { [arn]: 'arn:aws:iam::*:role/*' } }, { [arn]: 'agent-ops' })).toBe(false);
  });
});

describe('missing keys, IfExists and Null', () => {
  test('a positive operator does not hold when the key is absent', () => {
    expect(holds({ StringEquals: { [TAG]: 'prod' } }, {})).toBe(false);
  });

  test('a negated operator holds when the key is absent', () => {
    // The classic trap: a Deny written with StringNotEquals applies to requests without the key.
    expect(holds({ StringNotEquals: { [TAG]: 'dev' } }, {})).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {})).toBe(true);
    expect(holds({ ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/x' } }, {})).toBe(true);
  });

  test('...IfExists holds when the key is absent and tests the value when present', () => {
    expect(holds({ StringEqualsIfExists: { [TAG]: 'prod' } }, {})).toBe(true);
    expect(holds({ StringEqualsIfExists: { [TAG]: 'prod' } }, { [TAG]: 'dev' })).toBe(false);
    expect(holds({ NumericLessThanIfExists: { 'aws:MultiFactorAuthAge': '10' } }, {})).toBe(true);
  });

  test('Null "true" holds for an absent key, "false" for a present one', () => {
    expect(holds({ Null: { [TAG]: 'true' } }, {})).toBe(true);
    expect(holds({ Null: { [TAG]: 'true' } }, { [TAG]: 'x' })).toBe(false);
    expect(holds({ Null: { [TAG]: false } }, { [TAG]: 'x' })).toBe(true);
  });
});

describe('several values, keys and operators', () => {
  test('values of one key are ORed', () => {
    expect(holds({ StringEquals: { [TAG]: ['dev', 'prod'] } }, { [TAG]: 'prod' })).toBe(true);
  });

  test('keys of one operator are ANDed', () => {
    const c = { StringEquals: { [TAG]: 'prod', 'aws:PrincipalTag/team': 'ops' } };
    expect(holds(c, { [TAG]: 'prod', 'aws:PrincipalTag/team': 'ops' })).toBe(true);
    expect(holds(c, { [TAG]: 'prod', 'aws:PrincipalTag/team': 'dev' })).toBe(false);
  });

  test('operators are ANDed', () => {
    const c = { StringEquals: { [TAG]: 'prod' }, Bool: { 'aws:MultiFactorAuthPresent': 'true' } };
    expect(holds(c, { [TAG]: 'prod', 'aws:MultiFactorAuthPresent': 'true' })).toBe(true);
    expect(holds(c, { [TAG]: 'prod', 'aws:MultiFactorAuthPresent': 'false' })).toBe(false);
  });

  test('condition keys and operator names are case-insensitive', () => {
    expect(holds({ stringequals: { 'AWS:RESOURCETAG/ENV': 'prod' } }, { 'aws:resourcetag/env': 'prod' })).toBe(true);
  });
});

describe('set operators on multivalued keys', () => {
  const keys = 'aws:TagKeys';

  test('ForAnyValue holds when any request value matches', () => {
    expect(holds({ 'ForAnyValue:StringEquals': { [keys]: ['env', 'team'] } }, { [keys]: ['owner', 'env'] })).toBe(true);
    expect(holds({ 'ForAnyValue:StringEquals': { [keys]: ['env', 'team'] } }, { [keys]: ['owner'] })).toBe(false);
  });

  test('ForAllValues holds when every request value matches', () => {
    expect(holds({ 'ForAllValues:StringLike': { [keys]: ['env', 'team*'] } }, { [keys]: ['env', 'team-a'] })).toBe(true);
    expect(holds({ 'ForAllValues:StringLike': { [keys]: ['env', 'team*'] } }, { [keys]: ['env', 'owner'] })).toBe(false);
  });

  test('ForAllValues holds for an absent key or an empty set; ForAnyValue does not', () => {
    expect(holds({ 'ForAllValues:StringEquals': { [keys]: 'env' } }, {})).toBe(true);
    expect(holds({ 'ForAllValues:StringEquals': { [keys]: 'env' } }, { [keys]: [] })).toBe(true);
    expect(holds({ 'ForAnyValue:StringEquals': { [keys]: 'env' } }, {})).toBe(false);
    expect(holds({ 'ForAnyValue:StringEqualsIfExists': { [keys]: 'env' } }, {})).toBe(false);
  });

  test('negated operators under set operators apply per request value', () => {
    expect(holds({ 'ForAllValues:StringNotEquals': { [keys]: ['admin'] } }, { [keys]: ['env', 'team'] })).toBe(true);
    expect(holds({ 'ForAnyValue:StringNotEquals': { [keys]: ['env'] } }, { [keys]: ['env'] })).toBe(false);
  });

  test('a single-valued key under a set operator is a one-element set', () => {
    expect(holds({ 'ForAnyValue:StringEquals': { [TAG]: 'prod' } }, { [TAG]: 'prod' })).toBe(true);
  });

  test('a plain operator on a multivalued key does not hold, even negated', () => {
    expect(holds({ StringEquals: { [keys]: 'env' } }, { [keys]: ['env'] })).toBe(false);
    expect(holds({ StringNotEquals: { [keys]: 'x' } }, { [keys]: ['env'] })).toBe(false);
  });
});

describe('policy variables in condition values', () => {
  test('a variable in a positive operator without a value does not match', () => {
    expect(holds({ StringEquals: { [TAG]: '${aws:PrincipalTag/env}' } }, { [TAG]: 'prod' })).toBe(false);
  });

  test('a variable without a value makes a negated operator hold', () => {
    // reference_policies_variables, "Policy variables with no value": inverted operators such as StringNotEquals match.
    expect(holds({ StringNotEquals: { [TAG]: '${aws:PrincipalTag/env}' } }, { [TAG]: 'prod' })).toBe(true);
    expect(holds({ StringEquals: { [TAG]: '${aws:PrincipalTag/env}' } }, { [TAG]: 'prod' })).toBe(false);
  });

  test('variables work in ARN operators', () => {
    const c = { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/\${aws:PrincipalTag/team}-*` } };
    expect(holds(c, { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/ops-agent`, 'aws:PrincipalTag/team': 'ops' })).toBe(true);
    expect(holds(c, { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/ops-agent`, 'aws:PrincipalTag/team': 'dev' })).toBe(false);
  });

  test('variables work in Bool', () => {
    expect(
      holds({ Bool: { 'aws:SecureTransport': '${aws:PrincipalTag/secure}' } }, { 'aws:SecureTransport': 'true', 'aws:PrincipalTag/secure': 'TRUE' }),
    ).toBe(true);
  });
});
