/**
 * `npm run bench`: runs every bench/*.bench.ts in turn. Each exports `bench(): Promise<void>` and
 * prints its own lines; every figure is a ratio against a baseline measured in the same run.
 */
import * as fs from 'fs';
import * as path from 'path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
  for (const file of files) {
    console.log(`\n## ${file.replace('.bench.ts', '')}`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(__dirname, file)) as { bench: () => Promise<void> };
    await mod.bench();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
