/**
 * A value as a list, the way IAM and CloudFormation write "one or many": undefined is empty, a
 * list is itself (copied), anything else is a list of one. The one helper for this; policy JSON,
 * templates and the guard's statements all go through it.
 */
export function toList<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}
