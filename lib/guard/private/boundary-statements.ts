import { ProductionScope } from '../production-scope';
import { staticGuardStatements } from './guard-statements';
import { IAM_QUOTAS, StatementJson, policyDocument, policySize } from '../../shared/policy-size';
import { toList } from '../../shared/list';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';

/**
 * Services whose destruction the permissions boundary carries first: those that hold production
 * state or serve production traffic. The boundary is one managed policy (6,144 characters), so it
 * cannot hold the whole catalog; the role's guard policies do. What the boundary carries is
 * reported, never silently trimmed.
 */
export const BOUNDARY_PRIORITY: readonly string[] = [
  'rds',
  'dynamodb',
  's3',
  'kms',
  'ec2',
  'route53',
  'cloudformation',
  'backup',
  'lambda',
  'ecs',
  'eks',
  'elasticache',
  'secretsmanager',
  'efs',
  'fsx',
  'redshift',
  'es',
  'aoss',
  'logs',
  'sqs',
  'sns',
  'kinesis',
  'elasticloadbalancing',
  'autoscaling',
  'ecr',
  'events',
  'glacier',
  'states',
  'apigateway',
  'cognito-idp',
];

export interface BoundaryContent {
  readonly statements: StatementJson[];
  readonly coveredServices: string[];
}

function forService(actions: string[], service: string): string[] {
  return actions.filter((a) => a.toLowerCase().startsWith(`${service}:`));
}

/** Allow everything the identity policies allow, minus the escalation denies and the top of the destructive catalog. */
export function boundaryStatements(scope: ProductionScope, escalation: readonly StatementJson[]): BoundaryContent {
  const key = JSON.stringify([scope, escalation]);
  const cached = boundaryCache.get(key) ?? computeBoundary(scope, escalation);
  boundaryCache.set(key, cached);
  return { statements: cached.statements.map((s) => ({ ...s })), coveredServices: [...cached.coveredServices] };
}

const boundaryCache = new Map<string, BoundaryContent>();

function computeBoundary(scope: ProductionScope, escalation: readonly StatementJson[]): BoundaryContent {
  const [destroy] = staticGuardStatements(scope);
  const base: StatementJson[] = [{ Sid: 'AllowWithinGuardrails', Effect: 'Allow', Action: '*', Resource: '*' }, ...escalation];
  if (policySize(policyDocument(base)) > IAM_QUOTAS.managedPolicy) {
    throw new GuardrailsError(
      GuardrailsErrorKind.QUOTA,
      `the permissions boundary's escalation denies alone exceed ${IAM_QUOTAS.managedPolicy} characters; shorten allowedPassRoles / ` +
        `allowedAssumeRoles`,
    );
  }
  const destroyActions: string[] = [];
  const covered: string[] = [];
  const build = (d: string[]) => [...base, ...(d.length ? [{ ...destroy, Sid: 'DenyDestroyProduction', Action: d }] : [])];
  for (const service of BOUNDARY_PRIORITY) {
    const d = [...destroyActions, ...forService(toList(destroy.Action), service)];
    if (policySize(policyDocument(build(d))) > IAM_QUOTAS.managedPolicy) {
      break;
    }
    destroyActions.splice(0, destroyActions.length, ...d);
    covered.push(service);
  }
  return { statements: build(destroyActions), coveredServices: covered };
}
