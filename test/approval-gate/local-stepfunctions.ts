/**
 * aws-local-stepfunctions 3.0.0 computes States.Hash(…, 'SHA-256') wrongly for inputs of 56 bytes
 * or more (its own SHA-256 pads multi-block messages incorrectly), while AWS returns the standard
 * SHA-256. The workflow digests every request with States.Hash, so the tests load the interpreter
 * with that one line replaced by node's SHA-256. `emulatorHashIsBroken()` keeps the reason visible:
 * when the upstream bug is fixed, its test fails and this patch can go.
 */
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';

const FILE = require.resolve('aws-local-stepfunctions');
const BUGGY = 'case "SHA-256":\n        return sha256.getDigest(str);';
const FIXED = 'case "SHA-256":\n        return require("crypto").createHash("sha256").update(str, "utf8").digest("hex");';

type Lib = typeof import('aws-local-stepfunctions');

function load(source: string): Lib {
  // Evaluated in jest's realm (like any required module), so that plain-object checks and
  // Promise.withResolvers (test/support/jest-setup.ts) behave as for the published module.
  const resolveFromLib = createRequire(FILE);
  const m = { exports: {} as any };
  new Function('module', 'exports', 'require', '__filename', '__dirname', source)(
    m,
    m.exports,
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the interpreter's own dependencies, resolved from its folder
    (id: string) => require(resolveFromLib.resolve(id)),
    FILE,
    path.dirname(FILE),
  );
  return m.exports as Lib;
}

const original = fs.readFileSync(FILE, 'utf8');
if (!original.includes(BUGGY)) {
  throw new Error(
    'aws-local-stepfunctions changed: the SHA-256 patch no longer applies; check whether States.Hash is correct now and drop the patch',
  );
}

/** The interpreter with the States.Hash SHA-256 fix. */
export const StateMachine: Lib['StateMachine'] = load(original.replace(BUGGY, FIXED)).StateMachine;
/** The interpreter as published, for the test that documents the bug. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the published module, unpatched, by design
export const UnpatchedStateMachine: Lib['StateMachine'] = require('aws-local-stepfunctions').StateMachine;
