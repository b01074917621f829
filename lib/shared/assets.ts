import * as fs from 'fs';
import * as path from 'path';
import { GuardrailsError, GuardrailsErrorKind } from './errors';

/**
 * The directory of a Lambda bundle built with the package (`npm run build` or `npm pack`), so a
 * consumer's synth needs neither esbuild nor Docker and every consumer gets the same asset hash.
 */
export function handlerAssetDirectory(name: string): string {
  const root = packageRoot();
  const directory = path.join(root, 'dist', 'assets', name);
  if (!fs.existsSync(path.join(directory, 'index.js'))) {
    throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, `the Lambda bundle ${name} is missing at ${directory}.`, {
      code: 'Package.MissingHandlerBundle',
      received: directory,
      fix: 'In a checkout of cdk-agent-guardrails run `npm run bundle` (npm ci does it); an installed package ships it, so reinstall it.',
    });
  }
  return directory;
}

let cachedRoot: string | undefined;
function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'cdk-agent-guardrails') return (cachedRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new GuardrailsError(GuardrailsErrorKind.INVALID_PROPS, `cdk-agent-guardrails: cannot find the package root above ${__dirname}.`, {
        code: 'Package.RootNotFound',
        received: __dirname,
        fix: 'Reinstall cdk-agent-guardrails; its package.json must sit above its dist/ folder.',
      });
    }
    dir = parent;
  }
}
