/** Median wall time of `runs` runs of fn, in milliseconds, after one warm-up run (unless the process is warm already). */
export async function medianMs(fn: () => unknown | Promise<unknown>, runs = 5, warmUp = true): Promise<number> {
  if (warmUp) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Median of `runs` synchronous measurements, each returning milliseconds (fresh processes measure themselves). */
export function medianOf(runs: number, measure: () => number): number {
  const values = Array.from({ length: runs }, measure).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

/** The median of a list of measurements. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall time of one synchronous run of fn, in milliseconds. */
export function measureMs(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
