export * from './production-scope';
export * from './production-guard';
export * from './agent-role';
