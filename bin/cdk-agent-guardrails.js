#!/usr/bin/env node
// Runs the compiled CLI when the package is installed; in a checkout, runs the TypeScript source.
const fs = require('fs');
const path = require('path');
const compiled = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
if (fs.existsSync(compiled)) {
  require(compiled).main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  require('../lib/cli/main.ts').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
