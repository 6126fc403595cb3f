// The load data the benchmark replays: real Zeek captures from ../shared/testdata/zeek/load/.
// Decoding a gzip'd base64 capture takes seconds, so it is done once per capture and kept in
// a binary cache under the system temp folder; every child process then loads it in milliseconds.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { decodeLogWriteMessage } from '../../src/zeek/binary/log-write.js';

type Decode = typeof decodeLogWriteMessage;

export type DatasetKind = 'ncsa' | 'cluster';

export interface DatasetSpec {
  /** Short name used in scenario ids and reports. */
  readonly name: string;
  readonly kind: DatasetKind;
  /** Path below the test data root. */
  readonly file: string;
}

export const DATASETS: Record<string, DatasetSpec> = {
  ncsa: { name: 'ncsa', kind: 'ncsa', file: 'load/ncsa/load-a.jsonl.gz' },
  cluster: { name: 'cluster', kind: 'cluster', file: 'load/cluster/load-a.jsonl.gz' },
  'cluster-bigbatch': { name: 'cluster-bigbatch', kind: 'cluster', file: 'load/cluster/load-a.bigbatch.jsonl.gz' },
};

/** Root of the shared Zeek test data; override with ZLG_TESTDATA (as the tests do). */
export function testdataRoot(): string {
  return resolve(process.env.ZLG_TESTDATA ?? join(process.cwd(), '..', 'shared', 'testdata', 'zeek'));
}

/**
 * One dataset in memory. Message i is `frames[i]`; it carries `records[i]` (the JSON of each
 * record as the gateway will route it: frame 1 for NCSA, the decoded batch for the cluster).
 */
export interface Dataset {
  readonly spec: DatasetSpec;
  readonly source: string;
  readonly frames: Buffer[][];
  /** Log path of each message. */
  readonly paths: string[];
  readonly records: Buffer[][];
  /** Sum of record JSON bytes per message. */
  readonly jsonBytes: number[];
  /** Bytes on the wire per message (all frames). */
  readonly wireBytes: number[];
  readonly totalRecords: number;
  /** Messages left out because the gateway would not route them (e.g. a non-ASCII writer). */
  readonly skipped: number;
}

const MAGIC = 'ZLGBENCH2';

function cacheFile(spec: DatasetSpec, source: string): string {
  const st = statSync(source);
  const key = createHash('sha1').update(`${MAGIC}|${source}|${st.size}|${st.mtimeMs}`).digest('hex').slice(0, 16);
  return join(process.env.ZLG_BENCH_CACHE ?? join(tmpdir(), 'zlg-bench-cache'), `${spec.name}-${key}.bin`);
}

/** Writers whose batches the gateway routes by default (`ingress.pull.writers`). */
const ROUTED_WRITERS = new Set(['Log::WRITER_ASCII']);

function parseCapture(spec: DatasetSpec, source: string, decode: Decode | undefined): Omit<Dataset, 'spec' | 'source'> {
  const text = gunzipSync(readFileSync(source)).toString('utf8');
  const frames: Buffer[][] = [];
  const paths: string[] = [];
  const records: Buffer[][] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const msg = (JSON.parse(line) as { frames_b64: string[] }).frames_b64.map((f) => Buffer.from(f, 'base64'));
    if (spec.kind === 'ncsa') {
      if (msg.length !== 2) throw new Error(`${source}: NCSA message with ${msg.length} frames`);
      frames.push(msg);
      paths.push((msg[0] as Buffer).toString('latin1'));
      records.push([msg[1] as Buffer]);
      continue;
    }
    if (!decode) throw new Error('a cluster capture needs the decoder');
    const r = decode(msg);
    if (!r.ok) throw new Error(`${source}: undecodable cluster message: ${r.reason} ${r.detail}`);
    if (!ROUTED_WRITERS.has(r.batch.writer) || r.batch.records.length === 0) {
      skipped++;
      continue;
    }
    frames.push(msg);
    paths.push(r.batch.path);
    // The decoder's records are views into a reused buffer: copy them.
    records.push(r.batch.records.map((b) => Buffer.from(b)));
  }
  const sum = (xs: Buffer[]): number => xs.reduce((n, b) => n + b.length, 0);
  return {
    frames,
    paths,
    records,
    jsonBytes: records.map(sum),
    wireBytes: frames.map(sum),
    totalRecords: records.reduce((n, r) => n + r.length, 0),
    skipped,
  };
}

// Cache layout: MAGIC, u32 meta length, meta JSON, then per message: u8 frame count, per frame
// u32 length + bytes, u32 record count, per record u32 length + bytes.
function writeCache(file: string, d: Omit<Dataset, 'spec' | 'source'>): void {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n);
    return b;
  };
  const meta = Buffer.from(JSON.stringify({ paths: d.paths, skipped: d.skipped }));
  parts.push(Buffer.from(MAGIC), u32(meta.length), meta);
  d.frames.forEach((msg, i) => {
    parts.push(Buffer.from([msg.length]));
    for (const f of msg) parts.push(u32(f.length), f);
    const recs = d.records[i] as Buffer[];
    parts.push(u32(recs.length));
    for (const r of recs) parts.push(u32(r.length), r);
  });
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat(parts));
  renameSync(tmp, file);
}

function readCache(file: string): Omit<Dataset, 'spec' | 'source'> {
  const buf = readFileSync(file);
  let o = MAGIC.length;
  if (buf.toString('latin1', 0, o) !== MAGIC) throw new Error(`${file}: not a bench cache file`);
  const metaLen = buf.readUInt32LE(o);
  o += 4;
  const meta = JSON.parse(buf.toString('utf8', o, o + metaLen)) as { paths: string[]; skipped: number };
  o += metaLen;
  const frames: Buffer[][] = [];
  const records: Buffer[][] = [];
  const take = (): Buffer => {
    const n = buf.readUInt32LE(o);
    const b = buf.subarray(o + 4, o + 4 + n);
    o += 4 + n;
    return b;
  };
  while (o < buf.length) {
    const nf = buf[o++] as number;
    const msg: Buffer[] = [];
    for (let i = 0; i < nf; i++) msg.push(take());
    frames.push(msg);
    const nr = buf.readUInt32LE(o);
    o += 4;
    const recs: Buffer[] = [];
    for (let i = 0; i < nr; i++) recs.push(take());
    records.push(recs);
  }
  const sum = (xs: Buffer[]): number => xs.reduce((n, b) => n + b.length, 0);
  return {
    frames,
    paths: meta.paths,
    records,
    jsonBytes: records.map(sum),
    wireBytes: frames.map(sum),
    totalRecords: records.reduce((n, r) => n + r.length, 0),
    skipped: meta.skipped,
  };
}

function locate(name: string): { spec: DatasetSpec; source: string; file: string } {
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown dataset ${name} (known: ${Object.keys(DATASETS).join(', ')})`);
  const source = join(testdataRoot(), spec.file);
  if (!existsSync(source)) throw new Error(`load data not found: ${source} (set ZLG_TESTDATA to the shared testdata/zeek folder)`);
  return { spec, source, file: cacheFile(spec, source) };
}

/**
 * Builds a dataset's cache unless it exists. Cluster batches are decoded with the built gateway's
 * own decoder (dist/, which `npm run bench` builds first), to know each batch's path and records.
 */
export async function prepareDataset(name: string): Promise<void> {
  const { spec, source, file } = locate(name);
  if (existsSync(file)) return;
  const distDecoder = new URL('../../dist/zeek/binary/log-write.js', import.meta.url).href;
  const decode = spec.kind === 'cluster' ? ((await import(distDecoder)) as { decodeLogWriteMessage: Decode }).decodeLogWriteMessage : undefined;
  writeCache(file, parseCapture(spec, source, decode));
}

/** Loads a dataset prepared by prepareDataset(). */
export function loadDataset(name: string): Dataset {
  const { spec, source, file } = locate(name);
  if (!existsSync(file)) throw new Error(`dataset ${name} is not prepared (prepareDataset) — run it through the bench suite`);
  return { spec, source, ...readCache(file) };
}

/**
 * The replay plan: which dataset messages are sent, in order, to make up `records` records.
 * Messages cycle through the dataset; for cluster batches the count is rounded up to whole
 * batches, so `records` may end slightly above what was asked.
 */
export interface Plan {
  /** Dataset message index of each message sent. */
  readonly sequence: Uint32Array;
  readonly records: number;
  readonly jsonBytes: number;
  readonly wireBytes: number;
  /** Expected records per path. */
  readonly perPath: Record<string, number>;
}

export function makePlan(d: Dataset, wantRecords: number): Plan {
  const seq: number[] = [];
  let records = 0;
  let jsonBytes = 0;
  let wireBytes = 0;
  const perPath: Record<string, number> = {};
  const m = d.frames.length;
  for (let i = 0; records < wantRecords; i++) {
    const k = i % m;
    seq.push(k);
    const n = (d.records[k] as Buffer[]).length;
    records += n;
    jsonBytes += d.jsonBytes[k] as number;
    wireBytes += d.wireBytes[k] as number;
    const p = d.paths[k] as string;
    perPath[p] = (perPath[p] ?? 0) + n;
  }
  return { sequence: Uint32Array.from(seq), records, jsonBytes, wireBytes, perPath };
}

/** What the gateway sends to a broker for one record: tagged payload and headers. */
export interface OutboundRecord {
  readonly path: string;
  readonly payload: Buffer;
  readonly headers: Record<string, string>;
  readonly jsonBytes: number;
}

/**
 * The plan's records as the gateway would send them to a broker: the tagged envelope
 * `{"<path>":` + record + `}` (a fresh buffer per record, as the gateway makes), the zeek-path
 * header and, for cluster batches, the zeek-sender header (frame 1).
 */
export function* outboundRecords(d: Dataset, plan: Plan): Generator<OutboundRecord> {
  const prefixes = new Map<string, Buffer>();
  const headers = d.frames.map((f, k) => {
    const h: Record<string, string> = { 'zeek-path': d.paths[k] as string };
    if (d.spec.kind === 'cluster') h['zeek-sender'] = (f[1] as Buffer).toString('utf8');
    return h;
  });
  for (const k of plan.sequence) {
    const path = d.paths[k] as string;
    let prefix = prefixes.get(path);
    if (!prefix) prefixes.set(path, (prefix = Buffer.from(`{${JSON.stringify(path)}:`)));
    for (const json of d.records[k] as Buffer[]) {
      const payload = Buffer.allocUnsafe(prefix.length + json.length + 1);
      prefix.copy(payload, 0);
      json.copy(payload, prefix.length);
      payload[payload.length - 1] = 0x7d;
      yield { path, payload, headers: headers[k] as Record<string, string>, jsonBytes: json.length };
    }
  }
}
