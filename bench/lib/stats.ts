// Latency arithmetic: which send time each consumed record belongs to, and percentiles.
import type { Dataset, Plan } from './data.js';

export interface LatencyStats {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Latency of the records sent in one second of the run. */
export interface SecondStats {
  second: number;
  records: number;
  maxMs: number;
  /** Records slower than 25 ms. */
  over25Ms: number;
}

export function latencyStats(values: Float64Array): LatencyStats | undefined {
  if (values.length === 0) return undefined;
  const v = Float64Array.from(values).sort();
  const q = (p: number): number => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))] as number;
  let sum = 0;
  for (const x of v) sum += x;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { samples: v.length, p50Ms: r(q(0.5)), p99Ms: r(q(0.99)), maxMs: r(v[v.length - 1] as number), meanMs: r(sum / v.length) };
}

/**
 * Per-record latencies: the n-th record consumed from a path's topic (or with a path's routing
 * key) is the n-th record of that path in the plan, because the gateway keeps the order per sink
 * and path (one partition per topic, one queue). The consumer checks that order record by record
 * (outOfOrder); only a complete, in-order, duplicate-free delivery is mapped.
 *
 * `sendTimes[i]` is when message i of the plan was handed to ZeroMQ; a cluster batch's records
 * share its send time. Records sent in the first `warmupMs` are returned separately.
 */
export function recordLatencies(
  d: Dataset,
  plan: Plan,
  sendTimes: Float64Array,
  arrivals: Record<string, number[]>,
  warmupMs: number,
): { steady: Float64Array; warmup: Float64Array; perSecond: SecondStats[] } {
  const msgOfRecord = new Map<string, number[]>();
  plan.sequence.forEach((k, i) => {
    const path = d.paths[k] as string;
    let list = msgOfRecord.get(path);
    if (!list) msgOfRecord.set(path, (list = []));
    for (let r = 0; r < (d.records[k] as Buffer[]).length; r++) list.push(i);
  });
  const t0 = sendTimes[0] as number;
  const steady: number[] = [];
  const warm: number[] = [];
  const perSecond: SecondStats[] = [];
  for (const [path, times] of Object.entries(arrivals)) {
    const msgs = msgOfRecord.get(path) ?? [];
    const n = Math.min(times.length, msgs.length);
    for (let j = 0; j < n; j++) {
      const sent = sendTimes[msgs[j] as number] as number;
      const lat = (times[j] as number) - sent;
      (sent - t0 < warmupMs ? warm : steady).push(lat);
      const sec = Math.floor((sent - t0) / 1000);
      const ps = (perSecond[sec] ??= { second: sec, records: 0, maxMs: 0, over25Ms: 0 });
      ps.records++;
      if (lat > ps.maxMs) ps.maxMs = Math.round(lat * 10) / 10;
      if (lat > 25) ps.over25Ms++;
    }
  }
  return { steady: Float64Array.from(steady), warmup: Float64Array.from(warm), perSecond: perSecond.filter(Boolean) };
}
