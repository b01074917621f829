/**
 * Keys the agent chooses by how it sends the request (lambda:InvokedViaFunctionUrl): verify's
 * pessimistic rewrite is then exact, not an assumption, and still never optimistic.
 */
import { assumeUnmodelledConditions } from '../../lib/verify/analysis/condition-keys';
import { evaluate } from '../../lib/evaluator';

const FN = 'arn:aws:lambda:us-east-1:111111111111:function:collector';

function policy(deny: Record<string, unknown>): unknown {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: FN },
      { Effect: 'Deny', Action: 'lambda:InvokeFunction', Resource: FN, Condition: deny },
    ],
  };
}

describe('condition keys the agent chooses', () => {
  test('GIVEN a Deny on direct invocation (BoolIfExists InvokedViaFunctionUrl false) WHEN rewritten THEN it is dropped without an assumption', () => {
    const rewritten = assumeUnmodelledConditions(policy({ BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' } }));
    expect(rewritten.assumed).toEqual([]);
    // What the agent can really do, on the policy as written: through the URL (key true) the Deny does not apply;
    // directly (key absent) it does. The rewrite keeps the Allow only: the worse of the two paths.
    const original = policy({ BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' } });
    const ask = (context: Record<string, string>, policies: unknown[]) =>
      evaluate({
        principal: 'arn:aws:iam::111111111111:role/agent',
        action: 'lambda:InvokeFunction',
        resource: FN,
        context,
        identityPolicies: policies,
      });
    expect(ask({ 'lambda:InvokedViaFunctionUrl': 'true' }, [original])).toBe('Allowed');
    expect(ask({}, [original])).toBe('ExplicitlyDenied');
    expect(ask({}, [rewritten.document])).toBe('Allowed');
    expect((rewritten.document as any).Statement).toHaveLength(1);
  });

  test('fails when the key is tested with a string operator: that is still an assumption, and reported', () => {
    const rewritten = assumeUnmodelledConditions(policy({ StringEquals: { 'lambda:InvokedViaFunctionUrl': 'false' } }));
    expect(rewritten.assumed).toEqual(['lambda:InvokedViaFunctionUrl']);
  });

  test('fails when another unmodelled key sits beside it: that key is reported as assumed', () => {
    const rewritten = assumeUnmodelledConditions(
      policy({ BoolIfExists: { 'lambda:InvokedViaFunctionUrl': 'false' }, StringEquals: { 'aws:SourceVpc': 'vpc-1' } }),
    );
    expect(rewritten.assumed).toEqual(['aws:SourceVpc']);
    expect((rewritten.document as any).Statement).toHaveLength(1);
  });
});
