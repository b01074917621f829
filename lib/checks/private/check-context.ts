import * as fs from 'fs';
import * as path from 'path';
import { CfnResource, ITaggable, Stack, Stage, TagManager, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { ProductionGuard } from '../../guard/production-guard';
import { ProductionScope, ProductionScopeKind } from '../../guard/production-scope';
import { AgentDetectionOptions, AgentVerdict, detectAgent } from '../../guard/private/agent-detection';
import { CannotDecide } from './cannot-decide';
import { ResolvedStatement, flatten, statementsOf } from '../../guard/private/policy-json';
import { awsManagedPolicyPath } from '../../shared/aws-managed-policies';
import { toList } from '../../shared/list';
import { sameTagKey, tagValuesIgnoringKeyCase } from '../../verify/model/tag-keys';
import { HarmFinding } from '../../verify/analysis/analysis';
import { ProductionHarmScan } from '../../verify/analysis/harm-scan';
import { AssemblyModel, StackModel, readAssembly } from '../../verify/model/assembly';
import { TemplateResource } from '../../verify/model/template-values';
import { OfflineDecider } from '../../verify/deciders/offline-decider';
import { ProductionModel, findResources } from '../../verify/model/production-resources';
import { roleModel } from '../../verify/model/agents';
import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../../shared/tags';
import { policyDocumentValue } from '../../shared/policy-document';

/** What verify's analysis needs of the synthesized app, read once per run of the pack. */
interface SynthesizedApp {
  readonly assembly: AssemblyModel;
  /** Decides for every agent of this run (one synth): agents with the same policy content are decided once. */
  readonly scan: ProductionHarmScan;
}

/** A policy attached to a role, resolved. */
export interface AttachedPolicy {
  /** Construct path of the policy, or the ARN of an AWS managed policy. */
  readonly source: string;
  readonly statements: ResolvedStatement[];
}

/** Everything IAM evaluates for a role, as far as the app shows it. */
export interface RolePolicies {
  /** Inline policies, AWS::IAM::Policy resources and customer managed policies of the app. */
  readonly identity: AttachedPolicy[];
  /** Names of the AWS managed policies attached (`PowerUserAccess`, `job-function/SystemAdministrator`). */
  readonly awsManaged: string[];
  /** Managed policies whose content the app does not show (imports, ARNs of other accounts' policies). */
  readonly opaque: string[];
  /** Production guards whose every policy is attached to the role. */
  readonly guards: ProductionGuard[];
  /** Whether the role has a permissions boundary. */
  readonly hasBoundary: boolean;
  /** The boundary's statements when the app defines it. */
  readonly boundary?: AttachedPolicy;
}

/**
 * Resources that hold state (CDK's stateful resources: their L2 constructs default to RETAIN or
 * SNAPSHOT). Their deletion loses data, so production ones need their own last line of defence.
 * Secrets Manager secrets are left out: their deletion always has a recovery window of 7 to 30 days.
 */
export const STATEFUL_TYPES: ReadonlySet<string> = new Set([
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::EFS::FileSystem',
  'AWS::FSx::FileSystem',
  'AWS::Logs::LogGroup',
  'AWS::Cognito::UserPool',
  'AWS::ECR::Repository',
  'AWS::Backup::BackupVault',
  'AWS::Kinesis::Stream',
  'AWS::OpenSearchService::Domain',
  'AWS::Elasticsearch::Domain',
  'AWS::Redshift::Cluster',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::Timestream::Database',
  'AWS::Timestream::Table',
]);

/** What the pack knows while it checks one app; built once per run, read by the rule functions. */
export class CheckContext {
  private readonly verdicts = new Map<iam.CfnRole, AgentVerdict | CannotDecide>();
  private readonly policies = new Map<iam.CfnRole, RolePolicies>();
  private readonly managedPolicies = new Map<string, iam.CfnManagedPolicy>();
  private readonly policiesByRole = new Map<string, Array<iam.CfnPolicy | iam.CfnManagedPolicy>>();
  private readonly firstStateful = new Map<Stack, CfnResource | undefined>();
  private readonly harms = new Map<iam.CfnRole, HarmFinding[]>();
  private synthesized?: SynthesizedApp;
  /** The cloud assembly of this run, read once; `null` when there is none or it cannot be read. */
  private assembly?: AssemblyModel | null;
  private assemblyError?: unknown;
  /** The assembly's stacks by the absolute path of their template. */
  private stackModels?: Map<string, StackModel>;
  private readonly modelOfStack = new Map<Stack, StackModel | undefined>();
  /** `{ Ref: logicalId }` of every policy construct, resolved once. */
  private readonly refs = new Map<IConstruct, unknown>();
  private readonly nodes: IConstruct[];
  private indexed = false;
  private byPath?: Map<string, { readonly model: StackModel; readonly logicalId: string }>;
  /** Per stack, the resolved ARNs of guards' managed policies (a guard's policies are shared by the agents it guards). */
  private readonly policyArns = new Map<Stack, Map<iam.IManagedPolicy, string>>();
  private constructPaths?: Map<string, string>;
  /** Per node path and finding: the concrete values a rule found, printed in its message. */
  public readonly findingDetails = new Map<string, string>();

  constructor(
    private readonly root: IConstruct,
    public readonly detection: AgentDetectionOptions,
    public readonly production: ProductionScope,
  ) {
    this.nodes = root.node.findAll();
  }

  /** The app's policy constructs: managed policies by reference, and policies by the roles they attach to (once per run). */
  private policyIndex(): void {
    if (this.indexed) return;
    this.indexed = true;
    for (const node of this.nodes) {
      if (!(node instanceof iam.CfnManagedPolicy || node instanceof iam.CfnPolicy)) continue;
      const stack = Stack.of(node);
      const ref = this.refOf(node);
      this.refs.set(node, ref);
      if (node instanceof iam.CfnManagedPolicy) this.managedPolicies.set(key(stack, ref), node);
      const synthesized = this.synthesizedResource(node, (ref as { Ref?: unknown }).Ref, node.cfnResourceType);
      for (const roleRef of toList((synthesized ? synthesized.Properties?.Roles : stack.resolve(node.roles)) as unknown[])) {
        const k = key(stack, roleRef);
        this.policiesByRole.set(k, [...(this.policiesByRole.get(k) ?? []), node]);
      }
    }
  }

  /** What `stack.resolve(node.ref)` gives (`{ Ref: logicalId }`), from the synthesized tree when this run has it. */
  private refOf(node: CfnResource): unknown {
    const logicalId = this.synthesizedLogicalId(node);
    return logicalId !== undefined ? { Ref: logicalId } : Stack.of(node).resolve(node.ref);
  }

  /** A resource's logical ID, from the synthesized tree when this run has it, else resolved by CDK. */
  private logicalIdOf(node: CfnResource): unknown {
    return this.synthesizedLogicalId(node) ?? Stack.of(node).resolve(node.logicalId);
  }

  /** The logical ID the synthesized tree gives the resource, when it places it in its own stack's template. */
  private synthesizedLogicalId(node: CfnResource): string | undefined {
    const known = this.synthesizedIds().get(node.node.path);
    return known && known.model === this.stackModelOf(Stack.of(node)) ? known.logicalId : undefined;
  }

  /**
   * The synthesized stack and logical ID of each resource by construct path (tree.json, as the assembly reader
   * attached it to its stacks): what CDK allocated at synthesis, without allocating it again. Empty without assembly.
   */
  private synthesizedIds(): Map<string, { readonly model: StackModel; readonly logicalId: string }> {
    if (!this.byPath) {
      this.byPath = new Map();
      for (const model of this.assemblyOfRun()?.stacks ?? []) {
        for (const [logicalId, constructPath] of model.constructPaths ?? []) this.byPath.set(constructPath, { model, logicalId });
      }
    }
    return this.byPath;
  }

  /** Whether the role is an agent (memoized; rethrows CannotDecide). */
  public agent(role: iam.CfnRole): AgentVerdict {
    let verdict = this.verdicts.get(role);
    if (!verdict) {
      try {
        verdict = detectAgent(role, this.detection);
      } catch (e) {
        if (!(e instanceof CannotDecide)) throw e;
        verdict = e;
      }
      this.verdicts.set(role, verdict);
    }
    if (verdict instanceof CannotDecide) throw verdict;
    return verdict;
  }

  /** The node as an agent's CfnRole, or undefined when it is not one (rethrows CannotDecide). */
  public agentRole(node: CfnResource): iam.CfnRole | undefined {
    return node instanceof iam.CfnRole && this.agent(node).agent ? node : undefined;
  }

  /**
   * What verify finds an agent role can do to production: every action of a harmful class it can perform on a
   * production resource of the app, decided by the same analysis and evaluator on the synthesized templates (the
   * cloud assembly the synthesis being validated wrote); equal to verify's `harms` (ProductionHarmScan).
   */
  public harmsOf(role: iam.CfnRole): HarmFinding[] {
    let harms = this.harms.get(role);
    if (!harms) {
      const app = this.synthesizedApp(role);
      const stack = Stack.of(role);
      const logicalId = this.logicalIdOf(role) as string;
      const agent = roleModel(app.assembly, stack.stackName, logicalId);
      if (!agent) {
        throw new CannotDecide(
          `${role.node.path} (${logicalId} of stack ${stack.stackName}) is not in the cloud assembly at ${app.assembly.directory}`,
          'Run the pack on the app it synthesized (Validations.of(app).addPlugins, or app.synth() before validateScope).',
        );
      }
      harms = app.scan.harmsOf(agent);
      this.harms.set(role, harms);
    }
    return harms;
  }

  /**
   * The construct path of a resource verify names `Stack/LogicalId` (an assembly synthesized without path metadata,
   * as a plain app.synth() writes it); other names as they are.
   */
  public constructPathOf(resourceId: string, stackDisplayName: string): string {
    if (!this.constructPaths) {
      this.constructPaths = new Map();
      for (const c of this.nodes) {
        if (!CfnResource.isCfnResource(c)) continue;
        const stack = Stack.of(c);
        const id = this.logicalIdOf(c as CfnResource);
        if (typeof id === 'string') this.constructPaths.set(`${stack.node.path}/${id}`, c.node.path.replace(/\/Resource$/, ''));
      }
    }
    return resourceId.startsWith(`${stackDisplayName}/`) ? (this.constructPaths.get(resourceId) ?? resourceId) : resourceId;
  }

  private synthesizedApp(node: IConstruct): SynthesizedApp {
    if (!this.synthesized) {
      const assembly = this.assemblyOfRun();
      if (!assembly) {
        if (this.assemblyError !== undefined) throw this.assemblyError;
        throw new CannotDecide(
          `what ${node.node.path} can do to production is decided on the synthesized templates, and there is no cloud assembly yet ` +
            `(received outdir ${JSON.stringify(this.outdir())})`,
          'Register the pack with Validations.of(app).addPlugins(...), or call app.synth() before validateScope(app).',
        );
      }
      const model = productionModelOf(this.production);
      // For this run only (one synth): nothing decided is kept across synths.
      const decider = new OfflineDecider({ key: model.tagKey, value: model.nonProductionValues[0] }, true);
      this.synthesized = { assembly, scan: new ProductionHarmScan(findResources(assembly, model).production, decider) };
    }
    return this.synthesized;
  }

  private outdir(): string | undefined {
    const stage = Stage.isStage(this.root) ? this.root : Stage.of(this.root);
    return stage?.outdir;
  }

  /** The cloud assembly the synthesis being validated wrote, read once per run; undefined before synthesis. */
  private assemblyOfRun(): AssemblyModel | undefined {
    if (this.assembly === undefined) {
      const outdir = this.outdir();
      this.assembly = null;
      if (outdir && fs.existsSync(path.join(outdir, 'manifest.json'))) {
        try {
          this.assembly = readAssembly(outdir);
        } catch (e) {
          this.assemblyError = e;
        }
      }
    }
    return this.assembly ?? undefined;
  }

  /**
   * The synthesized template resource of a construct of this app, when this run has the cloud assembly: already
   * resolved, as it deploys (escape-hatch overrides included). Undefined before synthesis or when the template lacks it.
   */
  private synthesizedResource(construct: CfnResource, logicalId: unknown, type: string): TemplateResource | undefined {
    const model = typeof logicalId === 'string' ? this.stackModelOf(Stack.of(construct)) : undefined;
    const resource = model?.template.Resources?.[logicalId as string];
    return resource?.Type === type ? resource : undefined;
  }

  /** The assembly's model of a CDK stack: the one whose template file the stack wrote (undefined before synthesis). */
  private stackModelOf(stack: Stack): StackModel | undefined {
    if (!this.modelOfStack.has(stack)) {
      const assembly = this.assemblyOfRun();
      this.stackModels ??= new Map((assembly?.stacks ?? []).map((m) => [path.resolve(m.templateFile), m]));
      const outdir = Stage.of(stack)?.outdir;
      this.modelOfStack.set(stack, outdir ? this.stackModels.get(path.resolve(outdir, stack.templateFile)) : undefined);
    }
    return this.modelOfStack.get(stack);
  }

  /** A policy construct's document: its synthesized template's when this run has it, else resolved by CDK. */
  private documentOf(policy: iam.CfnPolicy | iam.CfnManagedPolicy): unknown {
    const synthesized = this.synthesizedResource(policy, (this.refs.get(policy) as { Ref?: unknown } | undefined)?.Ref, policy.cfnResourceType);
    return policyDocumentValue(synthesized ? synthesized.Properties?.PolicyDocument : Stack.of(policy).resolve(policy.policyDocument));
  }

  /** A role's trust policy: its synthesized template's when this run has it, else resolved by CDK. */
  public trustPolicyOf(role: iam.CfnRole): unknown {
    const synthesized = this.synthesizedResource(role, this.logicalIdOf(role), iam.CfnRole.CFN_RESOURCE_TYPE_NAME);
    const document = synthesized ? synthesized.Properties?.AssumeRolePolicyDocument : Stack.of(role).resolve(role.assumeRolePolicyDocument);
    return policyDocumentValue(document);
  }

  /** The policies of a role. */
  public policiesOf(role: iam.CfnRole): RolePolicies {
    let found = this.policies.get(role);
    if (!found) {
      found = this.collect(role);
      this.policies.set(role, found);
    }
    return found;
  }

  /**
   * Whether a resource is production under the pack's scope, read from its own tag, else from its
   * stack's tag (which CloudFormation propagates). Fail closed: with the default scope, anything not
   * tagged with a non-production value is production.
   */
  public isProduction(node: CfnResource): boolean {
    const scope = this.production;
    switch (scope.kind) {
      case ProductionScopeKind.RESOURCES:
        // ARNs are only known at deploy time: every resource counts (fail closed).
        return true;
      case ProductionScopeKind.ACCOUNTS: {
        const account = Stack.of(node).account;
        return Token.isUnresolved(account) || scope.accountIds.includes(account);
      }
      default:
        // A global table is production when any of its replicas is.
        return tagValuesOf(node, scope.tagKey).some((value) => {
          if (value !== undefined && (Token.isUnresolved(value) || typeof value !== 'string')) {
            throw new CannotDecide(
              `the ${scope.tagKey} tag of ${node.node.path} is only known at deploy time`,
              'Tag it with a literal value such as "production" or "dev".',
            );
          }
          const listed = value !== undefined && scope.tagValues.includes(value.toLowerCase());
          return scope.kind === ProductionScopeKind.FAIL_CLOSED ? !listed : listed;
        });
    }
  }

  /** A stateful production resource, read through the pack's scope. */
  public isStatefulProduction(node: CfnResource): boolean {
    return STATEFUL_TYPES.has(node.cfnResourceType) && this.isProduction(node);
  }

  /** The first stateful production resource of a stack, where stack-level findings are reported. */
  public firstStatefulProductionResource(stack: Stack): CfnResource | undefined {
    if (!this.firstStateful.has(stack)) {
      const first = stack.node
        .findAll()
        .find((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === stack && this.isStatefulProductionQuiet(c));
      this.firstStateful.set(stack, first);
    }
    return this.firstStateful.get(stack);
  }

  private isStatefulProductionQuiet(node: CfnResource): boolean {
    try {
      return this.isStatefulProduction(node);
    } catch {
      // An undecidable tag counts as production for the stack (fail closed); the resource's own rules report it.
      return STATEFUL_TYPES.has(node.cfnResourceType);
    }
  }

  private collect(role: iam.CfnRole): RolePolicies {
    this.policyIndex();
    const stack = Stack.of(role);
    const roleRef = this.refOf(role);
    const identity: AttachedPolicy[] = [];
    const awsManaged: string[] = [];
    const opaque: string[] = [];
    const attachedRefs: unknown[] = [];

    // The synthesized role's inline policies (CloudFormation's PolicyName/PolicyDocument), else CDK's (policyName/policyDocument).
    const synthesizedRole = this.synthesizedResource(role, (roleRef as { Ref?: unknown } | undefined)?.Ref, iam.CfnRole.CFN_RESOURCE_TYPE_NAME);
    for (const inline of toList((synthesizedRole ? synthesizedRole.Properties?.Policies : stack.resolve(role.policies)) as any[])) {
      identity.push({
        source: `${role.node.path}#${flatten(inline?.PolicyName ?? inline?.policyName)}`,
        statements: statementsOf(inline?.PolicyDocument ?? inline?.policyDocument),
      });
    }
    for (const policy of this.policiesByRole.get(key(stack, roleRef)) ?? []) {
      identity.push({ source: policy.node.path, statements: statementsOf(this.documentOf(policy)) });
      if (policy instanceof iam.CfnManagedPolicy) attachedRefs.push(this.refs.get(policy));
    }
    const synthesizedProps = synthesizedRole?.Properties ?? {};
    for (const arn of toList((synthesizedRole ? synthesizedProps.ManagedPolicyArns : stack.resolve(role.managedPolicyArns)) as unknown[])) {
      const local = this.managedPolicies.get(key(stack, arn));
      if (local) {
        identity.push({ source: local.node.path, statements: statementsOf(this.documentOf(local)) });
        attachedRefs.push(arn);
        continue;
      }
      const name = awsManagedPolicyPath(flatten(arn));
      if (name !== undefined) awsManaged.push(name);
      else opaque.push(flatten(arn));
    }

    const guards = new Set<ProductionGuard>();
    for (const ref of attachedRefs) {
      const guard = guardOf(this.managedPolicies.get(key(stack, ref)));
      if (guard) guards.add(guard);
    }
    const attachedKeys = new Set(attachedRefs.map((r) => JSON.stringify(r)));
    const arns = this.policyArns.get(stack) ?? new Map<iam.IManagedPolicy, string>();
    this.policyArns.set(stack, arns);
    const arnOf = (p: iam.IManagedPolicy) => {
      let arn = arns.get(p);
      if (arn === undefined) {
        arn = JSON.stringify(stack.resolve(p.managedPolicyArn));
        arns.set(p, arn);
      }
      return arn;
    };
    const complete = [...guards].filter((g) => g.managedPolicies.every((p) => attachedKeys.has(arnOf(p))));

    const boundaryArn = synthesizedRole ? synthesizedProps.PermissionsBoundary : stack.resolve(role.permissionsBoundary);
    const boundaryPolicy = boundaryArn === undefined ? undefined : this.managedPolicies.get(key(stack, boundaryArn));
    return {
      identity,
      awsManaged,
      opaque,
      guards: complete,
      hasBoundary: boundaryArn !== undefined,
      boundary: boundaryPolicy ? { source: boundaryPolicy.node.path, statements: statementsOf(this.documentOf(boundaryPolicy)) } : undefined,
    };
  }
}

/**
 * verify's production model for the pack's scope: the fail-closed tag model. A weaker scope (tagged-only,
 * accounts, resources) is read fail closed here too: AG2 reports the weaker scope itself.
 */
function productionModelOf(scope: ProductionScope): ProductionModel {
  if (scope.kind === ProductionScopeKind.FAIL_CLOSED)
    return { tagKey: scope.tagKey, nonProductionValues: scope.tagValues.map((v) => v.toLowerCase()) };
  return { tagKey: scope.tagKey || DEFAULT_TAG_KEY, nonProductionValues: [...DEFAULT_NON_PRODUCTION_VALUES] };
}

function key(stack: Stack, resolved: unknown): string {
  return `${stack.node.path}|${JSON.stringify(resolved)}`;
}

function guardOf(policy: IConstruct | undefined): ProductionGuard | undefined {
  for (let scope = policy?.node.scope; scope; scope = scope.node.scope) {
    if (scope instanceof ProductionGuard) return scope;
  }
  return undefined;
}

/**
 * The tag's values on the resource (per replica for a global table), else on its stack; `[undefined]` when untagged.
 * Keys are compared as IAM compares them (ignoring case): keys that differ only in case give one value each, and
 * the caller counts the resource as production when any of them makes it production.
 */
function tagValuesOf(node: CfnResource, tagKey: string): Array<string | undefined> {
  let stackValues: string[] = [];
  for (let stack: Stack | undefined = Stack.of(node); stack && stackValues.length === 0; stack = stack.nestedStackParent) {
    stackValues = tagValuesIgnoringKeyCase(stack.tags.tagValues(), tagKey);
  }
  const orStack = (values: string[]): Array<string | undefined> => (values.length > 0 ? values : stackValues.length > 0 ? stackValues : [undefined]);
  if (node instanceof dynamodb.CfnGlobalTable) {
    // Its tags live on its replicas (TableV2 renders them there).
    const replicas = toList(Stack.of(node).resolve(node.replicas) as Array<{ tags?: Array<{ key: unknown; value: any }> }>);
    if (replicas.length > 0) {
      const own = (r: (typeof replicas)[number]) => toList(r.tags).filter((t) => typeof t.key === 'string' && sameTagKey(t.key, tagKey));
      return replicas.flatMap((r) => orStack(own(r).map((t) => t.value)));
    }
  }
  if (TagManager.isTaggable(node)) {
    const own = tagValuesIgnoringKeyCase((node as unknown as ITaggable).tags.tagValues(), tagKey);
    if (own.length > 0) return own;
  }
  return orStack([]);
}
