/**
 * Makes the compiled package index load nothing until a name is used, as aws-cdk-lib's own index
 * does: `require('cdk-agent-guardrails')` must cost about what `require('aws-cdk-lib')` costs, not
 * the load of every feature (cdk-nag, the AWS SDK, the MCP server, the generated catalogs).
 *
 * lib/index.ts stays a list of re-exports by name (`export { X } from './feature/x'`); TypeScript
 * compiles each to an eager `require` and a getter. This rewrites the compiled index so that each
 * feature is required by its getters on first use. Anything it does not recognise fails the build:
 * an index that is silently eager again, or one whose getters point nowhere, must not ship.
 *
 * `npm run build` runs it on dist/lib/index.js; the bench and the tests run it on the same output.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const REQUIRE_LINE = /^var (\w+) = require\("([^"]+)"\);$/gm;
const GETTER = /get: function \(\) \{ return (\w+)\.(\w+); \}/g;

/** Rewrites the CommonJS output of lib/index.ts into lazy getters; throws on any other shape. */
export function lazifyIndex(compiled: string): string {
  const modules = new Set<string>();
  let out = compiled.replace(REQUIRE_LINE, (_line, name: string, from: string) => {
    modules.add(name);
    return `var ${name}$;\nfunction ${name}() { return ${name}$ !== undefined ? ${name}$ : (${name}$ = require(${JSON.stringify(from)})); }`;
  });
  if (modules.size === 0) {
    throw new Error('lazy-index: the compiled index requires no module; is this the output of lib/index.ts?');
  }
  let getters = 0;
  out = out.replace(GETTER, (getter, name: string, member: string) => {
    if (!modules.has(name)) throw new Error(`lazy-index: a getter reads ${name}, which is not a re-exported module (${getter})`);
    getters++;
    return `get: function () { return ${name}().${member}; }`;
  });
  const eager = out.split('\n').filter((line) => /require\(/.test(line) && !/^function \w+\(\) \{ return /.test(line));
  if (eager.length > 0) {
    throw new Error(`lazy-index: the compiled index still requires at load: ${eager[0]}`);
  }
  const leftover = [...modules].filter((name) => new RegExp(`[^\\w$]${name}\\.`).test(out));
  if (leftover.length > 0 || getters === 0) {
    throw new Error(`lazy-index: ${leftover[0] ?? 'no getter'} is still read eagerly; the compiled index has a shape this script does not know`);
  }
  return out;
}

/** Compiles lib/index.ts alone, file by file as tsc does under isolatedModules. */
export function compileIndex(indexTs: string): string {
  return ts.transpileModule(fs.readFileSync(indexTs, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true },
  }).outputText;
}

/**
 * A loadable JavaScript copy of lib/ in outDir, compiled file by file (as tsc emits them under
 * isolatedModules) with the lazy index, and node_modules linked: what a user's `require` loads.
 */
export function buildLoadableCopy(repoRoot: string, outDir: string): string {
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true };
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of walk(path.join(repoRoot, 'lib'))) {
    const target = path.join(outDir, path.relative(repoRoot, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (file.endsWith('.ts') && !file.endsWith('.d.ts')) {
      const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText;
      fs.writeFileSync(target.replace(/\.ts$/, '.js'), file === path.join(repoRoot, 'lib', 'index.ts') ? lazifyIndex(js) : js);
    } else {
      fs.copyFileSync(file, target);
    }
  }
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(outDir, 'package.json'));
  const modules = path.join(outDir, 'node_modules');
  if (!fs.existsSync(modules)) fs.symlinkSync(path.join(repoRoot, 'node_modules'), modules, 'dir');
  return path.join(outDir, 'lib', 'index.js');
}

if (require.main === module) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: ts-node scripts/lazy-index.ts dist/lib/index.js');
    process.exit(2);
  }
  fs.writeFileSync(target, lazifyIndex(fs.readFileSync(target, 'utf8')));
  console.log(`lazy-index: ${target} loads its features on first use`);
}
