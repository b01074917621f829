/**
 * True when a value holds a CDK token (a deploy-time value). CDK encodes tokens in strings as
 * `${Token[...]}` and in lists as `#{Token[...]}`; recognising the encoding keeps the modules that
 * verify and the CLI load free of aws-cdk-lib.
 */
export function isUnresolvedToken(value: unknown): boolean {
  if (typeof value === 'string') return /\$\{Token\[|#\{Token\[/.test(value);
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' && /#\{Token\[/.test(value[0]);
  return false;
}
