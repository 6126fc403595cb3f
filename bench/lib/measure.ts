// Alternating timed passes over the same records, shared by the standalone benches.

export interface Timing {
  /** Median wall-clock milliseconds of one pass. */
  wallMs: number;
  /** Fastest pass: the least disturbed by other processes on a shared machine. */
  bestWallMs: number;
  /** Median CPU milliseconds (user + system) of one pass: less sensitive to other load. */
  cpuMs: number;
  recordsPerSec: number;
  recordsPerCpuSec: number;
  bestRecordsPerSec: number;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Runs the passes warmup + reps times, alternating between them so that both see the
 * same background load; returns medians per pass. A pass returns the records it handled.
 */
export function measure(records: number, passes: readonly (() => number)[], reps: number, warmup: number): Timing[] {
  const wall = passes.map((): number[] => []);
  const cpu = passes.map((): number[] => []);
  for (let i = 0; i < warmup + reps; i++) {
    passes.forEach((pass, k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const n = pass();
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (n !== records) throw new Error(`pass handled ${n} records, expected ${records}`);
      if (i >= warmup) {
        wall[k]!.push(t);
        cpu[k]!.push((c.user + c.system) / 1000);
      }
    });
  }
  return passes.map((_, k) => {
    const wallMs = median(wall[k]!);
    const cpuMs = median(cpu[k]!);
    const bestWallMs = Math.min(...wall[k]!);
    return {
      wallMs,
      bestWallMs,
      cpuMs,
      recordsPerSec: (records / wallMs) * 1000,
      recordsPerCpuSec: (records / cpuMs) * 1000,
      bestRecordsPerSec: (records / bestWallMs) * 1000,
    };
  });
}

