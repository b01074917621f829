import * as fs from 'fs';
import * as path from 'path';
import { buildBoundaryAllowList, renderBoundaryAllowListSource } from './build-boundary-allow-list';

const target = path.join(__dirname, '..', 'lib', 'shared', 'boundary-allow-list.generated.ts');
const built = buildBoundaryAllowList();
fs.writeFileSync(target, renderBoundaryAllowListSource(built));
console.log(
  `wrote ${path.relative(process.cwd(), target)}: ${built.patterns.length} creation patterns (${JSON.stringify(built.patterns).length} ` +
    `characters), ${built.readPatterns.length} read patterns (${JSON.stringify(built.readPatterns).length} characters)`,
);
