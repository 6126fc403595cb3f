// The decoder fuzz loop, shared by fuzz.test.ts (CI length) and scripts/fuzz-decoder.ts
// (long runs): mutate real captures, decode, and check the invariants.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ZeekBinV1Decoder } from '../../../../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../../../../src/zeek/binary/log-write.js';
import { REJECT_REASONS, type DecodeOptions, type RejectReason, type TimestampMode } from '../../../../src/zeek/types.js';
import { makeRng, mutateMessage } from '../../../helpers/mutate.js';
import { PCAPS, loadCapture } from '../../../helpers/testdata.js';

/** The small captures (incl. CURVE) and every 40th message of the load capture. */
export function loadFuzzCorpus(): Buffer[][] {
  const corpus: Buffer[][] = [];
  for (const pcap of PCAPS) corpus.push(...loadCapture('cluster', `${pcap}.jsonl`));
  corpus.push(...loadCapture('cluster', 'http-non-printable-characters.curve.jsonl'));
  loadCapture('load', 'cluster', 'load-a.jsonl').forEach((m, i) => {
    if (i % 40 === 0) corpus.push(m);
  });
  return corpus;
}

/** `gc()` without --expose-gc on the command line. */
function getGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export interface FuzzStats {
  iterations: number;
  accepted: number;
  records: number;
  rejected: Partial<Record<RejectReason, number>>;
  /** Largest heapUsed after GC above the baseline taken after warm-up, in bytes. */
  heapGrowth: number;
  /** The same for memory held by ArrayBuffers (payloads, output slabs). */
  arrayBufferGrowth: number;
}

const MODES: TimestampMode[] = ['epoch', 'millis', 'millis-unsigned', 'iso8601'];

/**
 * Runs `iterations` mutated messages through one decoder. Throws (with seed, iteration
 * and the mutation ops) when the decoder throws, returns an unknown reason, or accepts
 * a batch whose records are not JSON objects.
 */
export function fuzzDecoder(corpus: readonly Buffer[][], iterations: number, seed: number, onProgress?: (s: FuzzStats) => void): FuzzStats {
  const rng = makeRng(seed);
  const gc = getGc();
  const decoder = new ZeekBinV1Decoder();
  const stats: FuzzStats = { iterations: 0, accepted: 0, records: 0, rejected: {}, heapGrowth: 0, arrayBufferGrowth: 0 };
  const warmup = Math.min(2000, Math.floor(iterations / 10));
  const checkEvery = Math.max(1000, Math.floor(iterations / 20));
  let baseline = process.memoryUsage();
  for (let i = 0; i < iterations; i++) {
    const base = rng.pick(corpus);
    const { frames, ops } = mutateMessage(base, corpus, rng);
    const opts: DecodeOptions = { timestamps: rng.pick(MODES), includeUnsetFields: rng.chance(0.3), maxOutputBytes: 16 << 20 };
    const where = (): string => `seed ${seed} iteration ${i} ops ${ops.join(',')}`;
    let r;
    try {
      r = decodeLogWriteMessage(frames, opts, decoder);
    } catch (e) {
      throw new Error(`decoder threw at ${where()}: ${e instanceof Error ? e.stack : String(e)}`);
    }
    if (r.ok) {
      stats.accepted++;
      stats.records += r.batch.records.length;
      // every accepted record must be one JSON object (sampled: parsing costs time)
      if (i % 8 === 0) {
        for (const rec of r.batch.records) {
          let v: unknown;
          try {
            v = JSON.parse(rec.toString('utf8'));
          } catch (e) {
            throw new Error(`invalid JSON at ${where()}: ${String(e)}: ${rec.toString('utf8', 0, 300)}`);
          }
          if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`not an object at ${where()}`);
        }
      }
    } else {
      if (!REJECT_REASONS.includes(r.reason) || typeof r.detail !== 'string') throw new Error(`unknown rejection ${String(r.reason)} at ${where()}`);
      stats.rejected[r.reason] = (stats.rejected[r.reason] ?? 0) + 1;
    }
    stats.iterations = i + 1;
    if (i + 1 === warmup) {
      gc();
      baseline = process.memoryUsage();
    } else if (i + 1 > warmup && (i + 1) % checkEvery === 0) {
      gc();
      const now = process.memoryUsage();
      stats.heapGrowth = Math.max(stats.heapGrowth, now.heapUsed - baseline.heapUsed);
      stats.arrayBufferGrowth = Math.max(stats.arrayBufferGrowth, now.arrayBuffers - baseline.arrayBuffers);
      onProgress?.(stats);
    }
  }
  return stats;
}
