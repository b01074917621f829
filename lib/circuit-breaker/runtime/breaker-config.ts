/**
 * The configuration the CircuitBreaker construct hands to its Lambda handler (environment variable
 * BREAKER_CONFIG), and its runtime check. No CDK imports: the handler bundles this file.
 */

export const BREAKER_CONFIG_ENV = 'BREAKER_CONFIG';

export interface WatchedAgentConfig {
  readonly agentName: string;
  readonly roleArn: string;
  readonly roleName: string;
  /** Trips when the destructive calls in one window exceed this. */
  readonly maxDestructiveCalls: number;
  /** Trips when the denied calls in one window exceed this. */
  readonly maxDeniedCalls: number;
  /** Trips when the write calls in one window exceed this; 0 = not limited. */
  readonly maxWriteCalls: number;
  readonly windowSeconds: number;
}

export interface BreakerConfig {
  readonly agents: readonly WatchedAgentConfig[];
  readonly tableName: string;
  readonly topicArn: string;
  readonly monitorOnly: boolean;
  /**
   * The approval gates' credentials roles: a tripped agent's collected sessions of them are
   * quarantined too. Absent in configurations written before this field: none.
   */
  readonly credentialsRoleNames?: readonly string[];
}

/**
 * The command an operator runs to reset the breaker of an agent: the one text the construct's
 * output, the trip alerts and the CLI print.
 */
export function resetCommand(agentName: string, roleName: string, tableName: string, credentialsRoleNames: readonly string[] = []): string {
  const credentials = credentialsRoleNames.length > 0 ? ` --credentials-roles ${credentialsRoleNames.join(',')}` : '';
  return `npx cdk-agent-guardrails breaker reset ${agentName} --role-name ${roleName} --table ${tableName}${credentials}`;
}

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Parses and checks the configuration; throws (the handler then fails, and EventBridge retries) on anything odd. */
export function parseBreakerConfig(raw: string | undefined): BreakerConfig {
  if (!raw) {
    throw new Error(`${BREAKER_CONFIG_ENV} is not set`);
  }
  const config = JSON.parse(raw) as BreakerConfig;
  if (
    !Array.isArray(config.agents) ||
    config.agents.length === 0 ||
    typeof config.tableName !== 'string' ||
    typeof config.topicArn !== 'string' ||
    typeof config.monitorOnly !== 'boolean'
  ) {
    throw new Error(`${BREAKER_CONFIG_ENV} is malformed`);
  }
  if (
    config.credentialsRoleNames !== undefined &&
    (!Array.isArray(config.credentialsRoleNames) || config.credentialsRoleNames.some((n) => typeof n !== 'string' || n.length === 0))
  ) {
    throw new Error(`${BREAKER_CONFIG_ENV}: credentialsRoleNames ${JSON.stringify(config.credentialsRoleNames)} is malformed`);
  }
  for (const a of config.agents) {
    if (
      typeof a.agentName !== 'string' ||
      typeof a.roleArn !== 'string' ||
      typeof a.roleName !== 'string' ||
      !positiveInt(a.maxDestructiveCalls) ||
      !positiveInt(a.maxDeniedCalls) ||
      !(a.maxWriteCalls === 0 || positiveInt(a.maxWriteCalls)) ||
      !positiveInt(a.windowSeconds) ||
      a.windowSeconds < 60
    ) {
      throw new Error(`${BREAKER_CONFIG_ENV}: agent entry ${JSON.stringify(a)} is malformed`);
    }
  }
  return config;
}
