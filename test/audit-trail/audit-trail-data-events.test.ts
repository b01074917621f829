import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AuditTrail } from '../../lib';

function trailOf(props: ConstructorParameters<typeof AuditTrail>[2]) {
  const stack = new Stack(new App(), 'S');
  new AuditTrail(stack, 'Audit', props);
  return Object.values(Template.fromStack(stack).findResources('AWS::CloudTrail::Trail'))[0].Properties;
}

describe('AuditTrail data events', () => {
  test('records every management event and the writes to S3 objects and DynamoDB items, so granted data deletes are attributable', () => {
    // GIVEN the default audit trail WHEN synthesized
    const trail = trailOf({});
    // THEN management events and data writes are selected, and no basic selector conflicts with them
    expect(trail.EventSelectors).toBeUndefined();
    const selectors = trail.AdvancedEventSelectors.map((s: any) => Object.fromEntries(s.FieldSelectors.map((f: any) => [f.Field, f.Equals])));
    expect(selectors).toEqual([
      { eventCategory: ['Management'] },
      { 'eventCategory': ['Data'], 'resources.type': ['AWS::S3::Object'], 'readOnly': ['false'] },
      { 'eventCategory': ['Data'], 'resources.type': ['AWS::DynamoDB::Table'], 'readOnly': ['false'] },
    ]);
    expect(trail.IsMultiRegionTrail).toBe(true);
  });

  test('management events only, when the user turns data writes off', () => {
    const trail = trailOf({ recordDataWrites: false });
    expect(trail.AdvancedEventSelectors).toBeUndefined();
    expect(trail.EventSelectors[0].ReadWriteType).toBe('All');
  });
});
