import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BOUNDARY_READ_EXCEPTIONS, BOUNDARY_READ_PATTERNS } from '../../shared/boundary-allow-list.generated';
import { expandActionPattern, supportsResourceLevelPermissions, wildcardRegex } from '../../shared/iam-data';
import { IConstruct } from 'constructs';
import { isSpecificArn } from './production-resources';

const READS = BOUNDARY_READ_PATTERNS.map((p) => wildcardRegex(p));
const NOT_READS = new Set(BOUNDARY_READ_EXCEPTIONS.map((a) => a.toLowerCase()));

// A pure function of the action and of the IAM data loaded once per process: kept, as a thousand agents are granted the same few actions.
const allowedAsReadByAction = new Map<string, boolean>();

/** Whether every action the (possibly wildcard) action names is a read the boundary allows anyway. */
function allowedAsRead(action: string): boolean {
  let allowed = allowedAsReadByAction.get(action);
  if (allowed === undefined) {
    const expanded = expandActionPattern(action);
    allowed = expanded.length > 0 && expanded.every((a) => !NOT_READS.has(a.toLowerCase()) && READS.some((r) => r.test(a)));
    allowedAsReadByAction.set(action, allowed);
  }
  return allowed;
}

const PSEUDO_VALUES: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * An ARN built from literals and the stack's own partition, region and account (CDK's formatArn,
 * as ApprovalGate.grantRequest names its workflow) names one resource as surely as a literal ARN.
 */
function namesOneResourceOfThisAccount(arn: string, scope: IConstruct): boolean {
  if (!Token.isUnresolved(arn)) return false;
  const resolved = Stack.of(scope).resolve(arn);
  const parts = typeof resolved === 'string' ? [resolved] : resolved?.['Fn::Join']?.[0] === '' ? resolved['Fn::Join'][1] : undefined;
  if (!Array.isArray(parts)) return false;
  let literal = '';
  for (const part of parts) {
    if (typeof part === 'string') literal += part;
    else if (part && typeof part.Ref === 'string' && PSEUDO_VALUES[part.Ref]) literal += PSEUDO_VALUES[part.Ref];
    else return false;
  }
  return isSpecificArn(literal);
}

/**
 * What an explicit grant adds to the allow-list boundary: the granted actions on the grant's own
 * specific resources, with the grant's conditions. `*`, wildcard resource names and deploy-time
 * values that could name anything grant nothing on production. `Resource: '*'` counts only for
 * actions that support no resource-level permissions (there is nothing narrower to name).
 */
export function boundaryStatementsForGrant(statement: iam.PolicyStatement, scope: IConstruct): iam.PolicyStatement[] {
  if (statement.effect !== iam.Effect.ALLOW || statement.notActions.length > 0 || statement.notResources.length > 0) return [];
  // Reads the boundary already allows everywhere need no statement of their own: the boundary is one 6,144-character policy.
  const actions = statement.actions.filter((a) => !Token.isUnresolved(a) && a !== '*' && !/^[^:]+:\*$/.test(a) && !allowedAsRead(a));
  if (actions.length === 0) return [];
  const conditions = statement.conditions as Record<string, Record<string, unknown>>;
  const out: iam.PolicyStatement[] = [];
  const specific = statement.resources.filter((r) => isSpecificArn(r) || namesOneResourceOfThisAccount(r, scope));
  if (specific.length > 0) out.push(new iam.PolicyStatement({ actions, resources: specific, conditions }));
  if (statement.resources.includes('*')) {
    const unscoped = actions.filter((pattern) => {
      const matched = expandActionPattern(pattern);
      return matched.length > 0 && matched.every((a) => !supportsResourceLevelPermissions(a));
    });
    if (unscoped.length > 0) out.push(new iam.PolicyStatement({ actions: unscoped, resources: ['*'], conditions }));
  }
  return out;
}
