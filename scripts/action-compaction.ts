// The generators compact with the same code as synth time: one copy, in lib/shared.
export { compactActions } from '../lib/shared/action-compaction';
