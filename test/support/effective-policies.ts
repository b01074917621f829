import { awsManagedPolicyDocument } from '../../lib/shared/aws-managed-policies';
import { Template, TemplateResolver } from './template-resolver';

export interface NamedPolicy {
  readonly name: string;
  readonly policy: any;
}

/** What IAM evaluates for a role: its identity policies and its permissions boundary. */
export interface EffectivePolicies {
  readonly identityPolicies: NamedPolicy[];
  readonly permissionsBoundary?: NamedPolicy;
  readonly trustPolicy: any;
}

/** The exports of every stack of an assembly, resolved, for Fn::ImportValue. */
export function exportsOf(templates: Template[]): Record<string, unknown> {
  const exports: Record<string, unknown> = {};
  for (const template of templates) {
    const resolver = new TemplateResolver(template);
    for (const output of Object.values<any>((template as any).Outputs ?? {})) {
      if (output.Export) {
        exports[resolver.resolve(output.Export.Name)] = resolver.resolve(output.Value);
      }
    }
  }
  return exports;
}

function refersTo(list: unknown, logicalId: string): boolean {
  return Array.isArray(list) && list.some((r) => r && typeof r === 'object' && (r as any).Ref === logicalId);
}

/**
 * Collects the policies of a role from a synthesized template: inline policies of the role,
 * AWS::IAM::Policy resources attached to it, managed policies attached from either side (resolved
 * to their documents in the template, or to the AWS managed policy documents above), and the
 * permissions boundary.
 */
export function effectivePolicies(template: Template, roleLogicalId: string, imports: Record<string, unknown> = {}): EffectivePolicies {
  const resolver = new TemplateResolver(template, imports);
  const role = template.Resources[roleLogicalId];
  if (!role || role.Type !== 'AWS::IAM::Role') {
    throw new Error(`no role ${roleLogicalId} in the template`);
  }
  const managedByArn = new Map<string, NamedPolicy>();
  const identityPolicies: NamedPolicy[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      const arn = resolver.resolve({ Ref: id });
      const named = { name: id, policy: resolver.resolve(resource.Properties.PolicyDocument) };
      managedByArn.set(arn, named);
      if (refersTo(resource.Properties.Roles, roleLogicalId)) {
        identityPolicies.push(named);
      }
    }
    if (resource.Type === 'AWS::IAM::Policy' && refersTo(resource.Properties.Roles, roleLogicalId)) {
      identityPolicies.push({ name: id, policy: resolver.resolve(resource.Properties.PolicyDocument) });
    }
  }
  for (const inline of role.Properties?.Policies ?? []) {
    identityPolicies.push({ name: inline.PolicyName, policy: resolver.resolve(inline.PolicyDocument) });
  }
  const lookup = (arn: string): NamedPolicy => {
    const aws = awsManagedPolicyDocument(arn);
    const found = managedByArn.get(arn) ?? (aws ? { name: arn, policy: aws } : undefined);
    if (!found) {
      throw new Error(`managed policy ${arn} has no known document; add it to lib/shared/aws-managed-policies.ts`);
    }
    return found;
  };
  for (const arn of resolver.resolve(role.Properties?.ManagedPolicyArns ?? [])) {
    identityPolicies.push(lookup(arn));
  }
  const boundaryArn = role.Properties?.PermissionsBoundary ? resolver.resolve(role.Properties.PermissionsBoundary) : undefined;
  return {
    identityPolicies,
    permissionsBoundary: boundaryArn ? lookup(boundaryArn) : undefined,
    trustPolicy: resolver.resolve(role.Properties.AssumeRolePolicyDocument),
  };
}

/** The logical id of the only resource of a type whose logical id starts with a prefix. */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
    .map(([id]) => id);
  if (ids.length !== 1) {
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  }
  return ids[0];
}
