/**
 * Evaluations per second of the library's IAM evaluator against @cloud-copilot/iam-simulate on the
 * same generated cases (the differential test's generator), measured in the same run.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { evaluate } from '../lib/evaluator';
import { generateCase, GeneratedCase, PRINCIPAL, simulatorInput } from '../test/evaluator/generated-cases';
import { medianMs } from './timing';

const CASES = 2000;

export async function bench(): Promise<void> {
  const cases: GeneratedCase[] = Array.from({ length: CASES }, (_, i) => generateCase(1_000_000 + i));
  const inputs = cases.map((c) => simulatorInput(c) as any);

  const simulatorMs = await medianMs(async () => {
    for (const input of inputs) await runSimulation(input, {});
  }, 1);
  // Parsed policies are cached per document: "warm" re-evaluates the same documents, "cold" gives
  // fresh copies each time, so every evaluation also parses its policies.
  const warmMs = await medianMs(() => {
    for (const c of cases) evaluate({ principal: PRINCIPAL, ...c });
  }, 3);
  const coldCopies = Array.from({ length: 3 }, () => cases.map((c) => JSON.parse(JSON.stringify(c)) as GeneratedCase));
  let round = 0;
  const coldMs = await medianMs(() => {
    for (const c of coldCopies[round++ % coldCopies.length]) evaluate({ principal: PRINCIPAL, ...c });
  }, 3);

  const perSecond = (ms: number) => Math.round((CASES / ms) * 1000);
  console.log(`evaluator vs iam-simulate on ${CASES} generated cases (identity + boundaries + SCPs, conditions):`);
  console.log(`  iam-simulate runSimulation:        ${perSecond(simulatorMs).toLocaleString('en-US')} evaluations/s (baseline)`);
  console.log(
    `  evaluator, policies parsed:        ${perSecond(warmMs).toLocaleString('en-US')} evaluations/s = ${(simulatorMs / warmMs).toFixed(1)}x the ` +
      `simulator`,
  );
  console.log(
    `  evaluator, parsing every policy:   ${perSecond(coldMs).toLocaleString('en-US')} evaluations/s = ${(simulatorMs / coldMs).toFixed(1)}x the ` +
      `simulator`,
  );
}
