/** ARNs split into their six colon-separated segments. */

/**
 * Splits `arn:partition:service:region:account:resource` at its first five colons (the resource
 * segment keeps its own colons). Returns undefined for anything that is not a six-segment ARN.
 */
export function splitArn(value: string): readonly string[] | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts: string[] = [];
  let start = 4;
  for (let n = 0; n < 4; n++) {
    const colon = value.indexOf(':', start);
    if (colon === -1) return undefined;
    parts.push(value.slice(start, colon));
    start = colon + 1;
  }
  parts.push(value.slice(start));
  return parts;
}

/**
 * Splits a policy ARN pattern into its five segments after `arn:`, ignoring colons inside policy
 * variables (`${aws:PrincipalAccount}`); missing trailing segments become `*` (IAM treats a short
 * ARN in an identity policy as if the rest were wildcards). Undefined when it does not start with `arn:`.
 */
export function splitArnPattern(value: string, variables: boolean, pad = true): string[] | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts: string[] = [];
  let current = '';
  let i = 4;
  while (i < value.length) {
    const c = value[i];
    if (parts.length < 4 && variables && c === '$' && value[i + 1] === '{') {
      const end = value.indexOf('}', i + 2);
      if (end !== -1) {
        current += value.slice(i, end + 1);
        i = end + 1;
        continue;
      }
    }
    if (c === ':' && parts.length < 4) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
    i++;
  }
  parts.push(current);
  while (pad && parts.length < 5) parts.push('*');
  return parts;
}
