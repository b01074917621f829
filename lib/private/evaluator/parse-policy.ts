import { ParsedPolicy } from './parsed-policy';
import { PolicyParseError } from './policy-parse-error';

/** Parses and validates one policy document; throws PolicyParseError saying what is wrong and how to fix it. */
export function parsePolicy(document: unknown): ParsedPolicy {
  throw new PolicyParseError('', 'not implemented yet', document, 'Wait for the evaluator.');
}
