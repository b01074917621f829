import * as fs from 'fs';
import * as path from 'path';

/** The cdk.json that the current `cdk init app --language typescript` writes (kept, and pinned, in test/consumer). */
export const CDK_INIT_CDK_JSON = path.join(__dirname, '..', 'consumer', 'fixtures', 'cdk-init.cdk.json');

/**
 * The feature flags of a fresh `cdk init` app: what every test app and the examples synthesize with, so that
 * the tests see the templates a new user's app produces (weak cross-stack references included).
 */
export function cdkInitContext(): Record<string, unknown> {
  return { ...JSON.parse(fs.readFileSync(CDK_INIT_CDK_JSON, 'utf8')).context };
}

type Json = any;

/**
 * For the independent test resolver (test/support), which reads exports only: every `Fn::GetStackOutput` of a weak
 * cross-stack reference becomes an `Fn::ImportValue` of an export added to the producing stack's output. The
 * templates are keyed by stack name; copies are returned, the inputs are left as they are.
 */
export function weakReferencesAsExports<T>(templates: Record<string, T>): Record<string, T> {
  const copies: Record<string, Json> = JSON.parse(JSON.stringify(templates));
  const exportName = (stack: string, output: string) => `weak-reference:${stack}:${output}`;
  const rewrite = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    const spec = node['Fn::GetStackOutput'];
    if (spec && Object.keys(node).length === 1) {
      const producer = copies[spec.StackName];
      const output = producer?.Outputs?.[spec.OutputName];
      if (!output) throw new Error(`Fn::GetStackOutput names ${spec.StackName}.${spec.OutputName}, which no template of the assembly has`);
      output.Export = { Name: exportName(spec.StackName, spec.OutputName) };
      return { 'Fn::ImportValue': exportName(spec.StackName, spec.OutputName) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v)]));
  };
  for (const name of Object.keys(copies)) copies[name].Resources = rewrite(copies[name].Resources);
  return copies as Record<string, T>;
}
