import { createHash } from 'crypto';

/**
 * The canonical form of an approval request, exactly as the workflow builds it with
 * `States.JsonToString(States.Array($.operation, $.resource, $.parameters))`: a compact JSON array
 * of the operation, the resource and the parameters, the parameters in the order the executor
 * receives them. The digest binds the very object the executor will send, so no key reordering
 * can make the approved request and the performed one differ.
 */
export function canonicalRequest(operation: string, resource: string, parameters: unknown): string {
  return JSON.stringify([operation, resource, parameters]);
}

/** SHA-256 of the canonical request, lower-case hex, as `States.Hash(canonical, 'SHA-256')` returns it. */
export function requestDigest(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
