/**
 * Tag keys as IAM compares them: `aws:ResourceTag/Environment` and `aws:ResourceTag/environment` are the same
 * condition key, so a resource tagged `Environment=dev` is disposable to a guard written for `environment`.
 * verify, the rule pack and production-resource discovery all read tags through these functions.
 */

/** The values of every tag whose key equals `key` ignoring case (a service that keeps keys case-sensitive can hold several). */
export function tagValuesIgnoringKeyCase<V>(tags: Readonly<Record<string, V>>, key: string): V[] {
  const wanted = key.toLowerCase();
  return Object.keys(tags)
    .filter((k) => k.toLowerCase() === wanted)
    .map((k) => tags[k]);
}

/** Whether two tag keys are the same key to IAM. */
export function sameTagKey(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
