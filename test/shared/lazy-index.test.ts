import * as path from 'path';
import * as eagerIndex from '../../lib';
import { compileIndex, lazifyIndex } from '../../scripts/lazy-index';

const GETTER_A = 'Object.defineProperty(exports, "A", { enumerable: true, get: function () { return a_1.A; } });\n';
const INDEX = path.join(__dirname, '..', '..', 'lib', 'index.ts');

/** Evaluates compiled CommonJS with a require that records what is loaded (resolved from lib/, as the package does). */
function evaluate(code: string): { exports: Record<string, unknown>; required: string[] } {
  const required: string[] = [];
  const exports: Record<string, unknown> = {};
  const recordingRequire = (id: string) => {
    required.push(id);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(path.dirname(INDEX), id));
  };
  new Function('exports', 'require', code)(exports, recordingRequire);
  return { exports, required };
}

describe('the package index as built (scripts/lazy-index.ts)', () => {
  test('loads no feature at require time, and each public name loads only its own feature, with the same value as lib/index.ts', () => {
    // GIVEN the index compiled as `npm run build` compiles it
    const lazy = lazifyIndex(compileIndex(INDEX));

    // WHEN it is loaded
    const { exports, required } = evaluate(lazy);

    // THEN nothing is required until a name is used (no iam-data, cdk-nag, AWS SDK, MCP SDK, zod or evaluator)
    expect(required).toEqual([]);
    const names = Object.keys(eagerIndex).filter((n) => n !== '__esModule');
    expect(
      Object.keys(exports)
        .filter((n) => n !== '__esModule')
        .sort(),
    ).toEqual(names.sort());
    // AND each name, once used, is the very value the source index exports, loaded from its own feature module
    for (const name of names) {
      const before = required.length;
      expect(exports[name]).toBe((eagerIndex as Record<string, unknown>)[name]);
      expect(required.slice(before).length).toBeLessThanOrEqual(1);
    }
    expect(new Set(required).size).toBe(required.length);
  });

  test.each([
    ['an eager wildcard re-export', 'exports.X = void 0;\n__exportStar(require("./guard/agent-role"), exports);\n', /requires no module/],
    ['a require the script does not know', 'var a_1 = require("./a");\nconst b = require("./b");\n' + GETTER_A, /still requires at load/],
    ['a module read outside a getter', 'var a_1 = require("./a");\nexports.B = a_1.B;\n' + GETTER_A, /a_1 is still read eagerly/],
  ])('fails when the compiled index holds %s (the build stops rather than ship an eager or broken index)', (_what, compiled, error) => {
    expect(() => lazifyIndex(compiled)).toThrow(error);
  });
});
