import { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../shared/tags';
import { isUnresolvedToken } from '../shared/tokens';
import { invalidProps } from '../shared/errors';

/** Options of the fail-closed scope. */
export interface FailClosedScopeOptions {
  /**
   * The tag key that marks a resource as disposable.
   * @default 'environment'
   */
  readonly tagKey?: string;
  /**
   * Tag values that mark a resource as NOT production (compared case-insensitively).
   * Every other value, a missing tag, and an action whose request context carries no tags
   * count as production.
   * @default ['dev', 'development', 'test', 'sandbox', 'ephemeral']
   */
  readonly nonProductionValues?: string[];
}

/** Options of the tagged-only scope. */
export interface TaggedOnlyScopeOptions {
  /**
   * The tag key that marks a resource as production.
   * @default 'environment'
   */
  readonly tagKey?: string;
  /**
   * Tag values that mark a resource as production (compared case-insensitively).
   * @default ['prod', 'production']
   */
  readonly productionValues?: string[];
}

export { DEFAULT_NON_PRODUCTION_VALUES, DEFAULT_PRODUCTION_VALUES, DEFAULT_TAG_KEY } from '../shared/tags';

/** The kinds of production scope. */
export enum ProductionScopeKind {
  /** Everything is production unless tagged with an allow-listed non-production value. */
  FAIL_CLOSED = 'fail-closed',
  /** Only resources tagged with a production value (plus production resources found in the app). Weaker. */
  TAGGED_ONLY = 'tagged-only',
  /** Exactly the listed resource ARNs. */
  RESOURCES = 'resources',
  /** Every resource in the listed accounts, and every resource whose account is unknown. */
  ACCOUNTS = 'accounts',
}

/**
 * Which resources the production guard protects. Defaults to fail closed.
 */
export class ProductionScope {
  /**
   * The default: destructive actions are denied unless the resource carries an allow-listed
   * non-production tag value. Untagged, unknown and untaggable resources are protected.
   */
  public static failClosed(options: FailClosedScopeOptions = {}): ProductionScope {
    const tagKey = validateTagKey(options.tagKey ?? DEFAULT_TAG_KEY);
    const values = validateValues('nonProductionValues', options.nonProductionValues ?? DEFAULT_NON_PRODUCTION_VALUES);
    return new ProductionScope(ProductionScopeKind.FAIL_CLOSED, tagKey, values, [], []);
  }

  /**
   * Weaker: denies destructive actions on resources tagged with a production value. Actions whose
   * request context never carries the tag are still denied on the production resources the guard
   * finds in the CDK app; anything else is not covered and is reported as such.
   */
  public static taggedOnly(options: TaggedOnlyScopeOptions = {}): ProductionScope {
    const tagKey = validateTagKey(options.tagKey ?? DEFAULT_TAG_KEY);
    const values = validateValues('productionValues', options.productionValues ?? DEFAULT_PRODUCTION_VALUES);
    return new ProductionScope(ProductionScopeKind.TAGGED_ONLY, tagKey, values, [], []);
  }

  /** Exactly these resources (and everything under them, such as objects of a bucket). */
  public static resources(arns: string[]): ProductionScope {
    if (arns.length === 0) {
      throw invalidProps(
        'ProductionScope.InvalidProps',
        'ProductionScope.resources: the list of ARNs is empty. Pass the ARNs of the production resources, or use ProductionScope.failClosed().',
      );
    }
    for (const arn of arns) {
      if (!isUnresolvedToken(arn) && !/^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*)?:.+$/.test(arn)) {
        throw invalidProps(
          'ProductionScope.InvalidProps',
          `ProductionScope.resources: ${JSON.stringify(arn)} is not a resource ARN. Pass ARNs such as ` +
            `arn:aws:dynamodb:us-east-1:123456789012:table/orders (to protect everything, use ProductionScope.failClosed()).`,
        );
      }
    }
    return new ProductionScope(ProductionScopeKind.RESOURCES, '', [], arns, []);
  }

  /** Every resource owned by these accounts; a request whose resource account is unknown counts as production. */
  public static accounts(accountIds: string[]): ProductionScope {
    if (accountIds.length === 0) {
      throw invalidProps('ProductionScope.InvalidProps', 'ProductionScope.accounts: the list of account IDs is empty. Pass 12-digit account IDs.');
    }
    for (const id of accountIds) {
      if (!isUnresolvedToken(id) && !/^\d{12}$/.test(id)) {
        throw invalidProps('ProductionScope.InvalidProps', `ProductionScope.accounts: ${JSON.stringify(id)} is not a 12-digit AWS account ID.`);
      }
    }
    return new ProductionScope(ProductionScopeKind.ACCOUNTS, '', [], [], accountIds);
  }

  private constructor(
    /** The kind of scope. */
    public readonly kind: ProductionScopeKind,
    /** The tag key of tag-based scopes; empty otherwise. */
    public readonly tagKey: string,
    /** Non-production values (fail closed) or production values (tagged only), lower-cased. */
    public readonly tagValues: string[],
    /** The ARNs of the resources scope. */
    public readonly resourceArns: string[],
    /** The account IDs of the accounts scope. */
    public readonly accountIds: string[],
  ) {}

  /** Whether this scope leaves resources unprotected that the fail-closed scope would protect. */
  public get isWeak(): boolean {
    return this.kind === ProductionScopeKind.TAGGED_ONLY;
  }
}

function validateTagKey(key: string): string {
  // The ASCII test first: the Unicode one compiles property tables on first use (milliseconds of the first AgentRole).
  const valid = /^[A-Za-z0-9 _.:/=+\-@]{1,128}$/.test(key) || /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(key);
  if (isUnresolvedToken(key) || !valid || key.toLowerCase().startsWith('aws:')) {
    throw invalidProps(
      'ProductionScope.InvalidProps',
      `ProductionScope: tag key ${JSON.stringify(key)} is not a valid tag key. Use 1 to 128 letters, digits, spaces and _.:/=+-@, not starting ` +
        `with "aws:", as a literal string.`,
    );
  }
  return key;
}

function validateValues(name: string, values: readonly string[]): string[] {
  if (values.length === 0) {
    throw invalidProps('ProductionScope.InvalidProps', `ProductionScope: ${name} is empty. Give at least one tag value, for example ["dev"].`);
  }
  for (const value of values) {
    if (isUnresolvedToken(value) || value.length === 0 || value.length > 256 || /[*?]/.test(value)) {
      throw invalidProps(
        'ProductionScope.InvalidProps',
        `ProductionScope: ${name} contains ${JSON.stringify(value)}; tag values must be literal strings of 1 to 256 characters without wildcards.`,
      );
    }
  }
  return [...new Set(values.map((v) => v.toLowerCase()))];
}
