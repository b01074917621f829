// The public API, by name. Each feature lives in its own folder; nothing is exported by wildcard.
export {
  DEFAULT_NON_PRODUCTION_VALUES,
  DEFAULT_PRODUCTION_VALUES,
  DEFAULT_TAG_KEY,
  type FailClosedScopeOptions,
  ProductionScope,
  ProductionScopeKind,
  type TaggedOnlyScopeOptions,
} from './guard/production-scope';
export { ProductionGuard, type ProductionGuardProps } from './guard/production-guard';
export { ProductionProtection, ProductionProtectionKind } from './guard/production-protection';
export {
  AgentRole,
  type AgentRoleProps,
  type AllowOptions,
  BROAD_GRANT_METADATA,
  type BroadGrantOptions,
  DEFAULT_AGENT_SESSION,
  GUARD_METADATA,
  type GuardCoverage,
} from './guard/agent-role';
export { GUARD_AGENTS_ANNOTATIONS, GuardAgents, type GuardAgentsProps } from './guard/guard-agents';
export {
  AGENT_GUARDRAILS_PACK_NAME,
  AgentGuardrailsChecks,
  type AgentGuardrailsChecksProps,
  type AgentGuardrailsRule,
} from './checks/agent-guardrails-checks';
export { AuditLockMode, AuditTrail, type AuditTrailProps, DEFAULT_AUDIT_RETENTION } from './audit-trail/audit-trail';
export {
  type BreakerThresholds,
  CircuitBreaker,
  type CircuitBreakerProps,
  QUARANTINE_POLICY_NAME,
  type WatchedAgent,
} from './circuit-breaker/circuit-breaker';
export {
  APPROVAL_GATE_COMPONENT,
  ApprovalGate,
  type ApprovalGateProps,
  Approver,
  ExecutionMode,
  GatedOperation,
  type GatedOperationOptions,
} from './approval-gate/approval-gate';
export { ApprovalChat, type MicrosoftTeamsChatOptions, type SlackChatOptions } from './approval-gate/approval-chat';
export { GuardrailsError, type GuardrailsErrorDetails, GuardrailsErrorKind } from './shared/errors';
export { AgentPrincipals } from './organization/agent-principals';
export {
  type MemberAccountRollout,
  OrganizationGuardrails,
  type OrganizationGuardrailsProps,
  type OrganizationPolicyBudget,
} from './organization/organization-guardrails';
export { GLOBAL_EVENT_SOURCES, GlobalEventForwarding, type GlobalEventForwardingProps } from './organization/global-event-forwarding';
