/**
 * Bundles the Lambda handlers (each feature's runtime/) into dist/assets/<name>/index.js when the
 * package is built, so consumers need neither esbuild nor Docker. The AWS SDK v3 stays external:
 * the Node.js Lambda runtimes provide it.
 */
import * as path from 'path';
import { buildSync } from 'esbuild';

export const HANDLER_BUNDLES: Readonly<Record<string, string>> = Object.freeze({
  'approval-handler': 'lib/approval-gate/runtime/index.ts',
  'approval-collector': 'lib/approval-gate/runtime/collect.ts',
  'approval-break-glass': 'lib/approval-gate/runtime/break-glass.ts',
  'breaker-handler': 'lib/circuit-breaker/runtime/index.ts',
});

const root = path.join(__dirname, '..');
for (const [name, entry] of Object.entries(HANDLER_BUNDLES)) {
  buildSync({
    entryPoints: [path.join(root, entry)],
    outfile: path.join(root, 'dist', 'assets', name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: false,
    external: ['@aws-sdk/*'],
    legalComments: 'none',
    logLevel: 'warning',
  });
}
console.log(`bundled ${Object.keys(HANDLER_BUNDLES).length} handlers into dist/assets`);
