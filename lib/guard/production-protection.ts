import { invalidProps } from '../shared/errors';
import { isUnresolvedToken } from '../shared/tokens';

/** The kinds of production protection. */
export enum ProductionProtectionKind {
  /**
   * On production an agent can read, and change only what it was explicitly granted on that
   * specific resource (or what a human approved through an ApprovalGate). The default.
   */
  READ_ONLY = 'read-only',
  /** Weaker: only destruction is denied; production can still be stopped, isolated or overwritten. */
  NO_DESTRUCTION = 'no-destruction',
}

/**
 * How much an agent may do to production. The default, `readOnly()`, closes every way to take
 * production down (stop, isolate, overwrite, run code as another identity, blind the guardrails),
 * not only deletion, and holds with AdministratorAccess attached: the permissions boundary is an
 * allow-list of reads, disposable resources, creating disposable resources and explicit grants.
 */
export class ProductionProtection {
  /**
   * The default: on production, reads and explicit grants on specific resources only. Destroying a
   * resource, its backups, versions, protections or keys stays impossible even with a grant.
   */
  public static readOnly(): ProductionProtection {
    return new ProductionProtection(ProductionProtectionKind.READ_ONLY, undefined);
  }

  /**
   * Weaker, for teams that must migrate: only destruction is denied, so an agent can still take
   * production down without deleting anything. Needs a written reason (at least 20 characters),
   * recorded in the metadata and reported by the rule pack and verify.
   */
  public static noDestructionOnly(justification: string): ProductionProtection {
    if (typeof justification !== 'string' || isUnresolvedToken(justification) || justification.trim().length < 20) {
      throw invalidProps(
        'ProductionProtection.MissingJustification',
        `ProductionProtection.noDestructionOnly needs a written justification of at least 20 characters (received ${JSON.stringify(justification)}).`,
        {
          received: JSON.stringify(justification),
          fix: 'Say why the agent must be able to stop, reconfigure or overwrite production, or keep the default ProductionProtection.readOnly().',
        },
      );
    }
    return new ProductionProtection(ProductionProtectionKind.NO_DESTRUCTION, justification.trim());
  }

  private constructor(
    /** The kind of protection. */
    public readonly kind: ProductionProtectionKind,
    /** Why the weaker protection was chosen. */
    public readonly justification: string | undefined,
  ) {}

  /** True for the weaker protection, which the rule pack and verify report. */
  public get isWeak(): boolean {
    return this.kind !== ProductionProtectionKind.READ_ONLY;
  }
}
