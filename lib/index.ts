export * from './production-scope';
export * from './production-guard';
export * from './agent-role';
export * from './agent-guardrails-checks';
export * from './guard-agents';
export * from './audit-trail';
export * from './circuit-breaker';
export * from './approval-gate';
