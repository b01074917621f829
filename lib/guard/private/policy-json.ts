import { isSpecificArn } from './production-resources';
import { wildcardRegex } from '../../shared/iam-data';
import { toList } from '../../shared/list';
import { policyDocumentValue } from '../../shared/policy-document';

/** A resolved IAM policy statement (values may still hold CloudFormation intrinsics). */
export interface ResolvedStatement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A resolved policy document. */
export interface ResolvedDocument {
  readonly Statement?: ResolvedStatement[] | ResolvedStatement;
}

export function statementsOf(document: unknown): ResolvedStatement[] {
  return toList((policyDocumentValue(document) as ResolvedDocument | undefined)?.Statement);
}

/**
 * A readable string for a resolved value: literals as they are, references as `<LogicalId>` or
 * `<LogicalId.Attr>`, pseudo parameters as `<AWS::Region>` (used in finding ids and messages).
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(flatten).join(',');
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if (typeof v.Ref === 'string') return `<${v.Ref}>`;
    if (Array.isArray(v['Fn::GetAtt'])) return `<${v['Fn::GetAtt'].join('.')}>`;
    if (Array.isArray(v['Fn::Join'])) return toList<unknown>(v['Fn::Join'][1]).map(flatten).join(String(v['Fn::Join'][0]));
    if (v['Fn::ImportValue'] !== undefined) return `<import:${flatten(v['Fn::ImportValue'])}>`;
    return `<${Object.keys(v).join(',')}>`;
  }
  return String(value);
}

/** Whether a resolved value is a literal string (not an intrinsic function). */
export function isLiteral(value: unknown): value is string {
  return typeof value === 'string';
}

/**
 * Whether a resolved Resource entry covers more than specific resources: `*`, or an ARN with a
 * wildcard where a resource is named. A reference to a resource of the app names that resource;
 * a join that contains a reference names resources under it (`<bucket ARN>/*`).
 */
export function isWildcardResource(resource: unknown): boolean {
  if (isLiteral(resource)) return !isSpecificArn(resource);
  if (resource && typeof resource === 'object' && Array.isArray((resource as any)['Fn::Join'])) {
    const parts = toList<unknown>((resource as any)['Fn::Join'][1]);
    const hasReference = parts.some((p) => !isLiteral(p));
    return hasReference ? false : !isSpecificArn(parts.join(String((resource as any)['Fn::Join'][0])));
  }
  return false;
}

const patterns = new Map<string, RegExp>();
/** IAM action matching, with the compiled patterns kept (guard policies repeat thousands of them). */
function matches(pattern: string, action: string): boolean {
  let regex = patterns.get(pattern);
  if (!regex) {
    regex = wildcardRegex(pattern);
    patterns.set(pattern, regex);
  }
  return regex.test(action);
}

/** Whether an Allow or Deny statement names the action (Action patterns, or NotAction that misses it). */
export function statementCovers(statement: ResolvedStatement, action: string): boolean {
  if (statement.Action !== undefined) {
    return toList(statement.Action).some((a) => isLiteral(a) && matches(a, action));
  }
  if (statement.NotAction !== undefined) {
    return !toList(statement.NotAction).some((a) => isLiteral(a) && matches(a, action));
  }
  return false;
}

/**
 * Whether an explicit, unconditional deny blocks the action everywhere except on specific
 * resources (`Resource: '*'`, or `NotResource` naming only specific ARNs).
 */
export function deniesOutsideSpecificResources(statements: readonly ResolvedStatement[], action: string): boolean {
  return statements.some(
    (s) =>
      s.Effect === 'Deny' &&
      s.Condition === undefined &&
      statementCovers(s, action) &&
      (s.Resource !== undefined
        ? toList(s.Resource).some((r) => r === '*')
        : s.NotResource !== undefined && toList(s.NotResource).every((r) => !isWildcardResource(r))),
  );
}
