/**
 * A policy document as IAM reads it. CloudFormation takes a document as an object or as JSON text (escape-hatch
 * overrides, included templates); every reader works on the object, so text is parsed here. Text that is not a JSON
 * object stays as it is, and the readers that meet it treat it as unknown (fail closed).
 */
export function policyDocumentValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}
