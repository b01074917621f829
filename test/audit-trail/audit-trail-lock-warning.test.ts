/**
 * Issue 12 item 10: the default COMPLIANCE-mode Object Lock on a retained bucket is right for production and a
 * surprise in a sandbox: synth warns with the exact consequence and the way out, and stays silent when the user
 * chose the mode.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AuditLockMode, AuditTrail } from '../../lib';

function synth(props: ConstructorParameters<typeof AuditTrail>[2]) {
  const stack = new Stack(new App(), 'S');
  new AuditTrail(stack, 'Audit', props);
  const warnings = Annotations.fromStack(stack)
    .findWarning('*', Match.stringLikeRegexp('COMPLIANCE-mode Object Lock'))
    .map((w) => String(w.entry.data));
  return { stack, warnings };
}

describe('AuditTrail: the default COMPLIANCE lock is announced at synth', () => {
  test('the default (COMPLIANCE, 365 days) warns with the exact consequence and how to choose GOVERNANCE or a shorter retention', () => {
    // GIVEN an AuditTrail with the defaults WHEN synthesized
    const { stack, warnings } = synth({});
    // THEN the bucket really is locked in COMPLIANCE mode for 365 days and retained
    const bucket = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }))[0];
    expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'COMPLIANCE', Days: 365 });
    expect(bucket.DeletionPolicy).toBe('Retain');
    // and one warning says so: who cannot delete what for how long, and the two ways out
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('S/Audit');
    expect(warnings[0]).toContain('no one, the account root included, can delete its objects or the bucket for 365 days');
    expect(warnings[0]).toContain('lockMode: AuditLockMode.GOVERNANCE');
    expect(warnings[0]).toContain('retention: Duration.days(1)');
  });

  test('the warning names the retention the user chose when only the mode is the default', () => {
    const { warnings } = synth({ retention: Duration.days(30) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('for 30 days');
  });

  test.each([
    ['COMPLIANCE', AuditLockMode.COMPLIANCE],
    ['GOVERNANCE', AuditLockMode.GOVERNANCE],
  ])('no warning when the user chose %s explicitly', (_label, lockMode) => {
    expect(synth({ lockMode }).warnings).toEqual([]);
  });

  test('no warning with an organization trail (no bucket is created)', () => {
    const { warnings } = synth({ organizationTrailArn: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail' });
    expect(warnings).toEqual([]);
  });
});
