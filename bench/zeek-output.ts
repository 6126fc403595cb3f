// Cost per record of each Zeek-native output option (issue 14), on the real load capture,
// against the default in the same run: decoder options (iso8601, unset fields, renamed
// key table) and route options (tagged/inline envelope, key rewriting, ts conversion).
// Also the default decode of main's code (MAIN_SRC, default /work/main/src) when present,
// so "the default path is no slower" is measured, not assumed.
// Run: node --import tsx bench/zeek-output.ts [repetitions=7]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ZeekBinV1Decoder } from '../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../src/zeek/binary/log-write.js';
import { EnvelopeBuilder } from '../src/routing/envelope.js';
import { KeyRewriter } from '../src/routing/rewrite-keys.js';
import type { DecodeOptions } from '../src/zeek/types.js';
import { loadCapture } from '../test/helpers/testdata.js';
import { measure } from './lib/measure.js';

const REPS = Number(process.argv[2] ?? 7);
const messages = loadCapture('load', 'cluster', 'load-a.jsonl');
const naming = { scopeSeparator: '_' };

type Decode = typeof decodeLogWriteMessage;
type DecoderCtor = new () => unknown;
const mainSrc = process.env.MAIN_SRC ?? '/work/main/src';
let main: { decode: Decode; Decoder: DecoderCtor } | undefined;
if (existsSync(join(mainSrc, 'zeek/binary/log-write.ts'))) {
  const lw = (await import(pathToFileURL(join(mainSrc, 'zeek/binary/log-write.ts')).href)) as { decodeLogWriteMessage: Decode };
  const bv = (await import(pathToFileURL(join(mainSrc, 'zeek/binary/bin-v1.ts')).href)) as { ZeekBinV1Decoder: DecoderCtor };
  main = { decode: lw.decodeLogWriteMessage, Decoder: bv.ZeekBinV1Decoder };
}

let sink = 0;
function decodePass(decoder: unknown, opts: DecodeOptions, decode: Decode = decodeLogWriteMessage): () => number {
  return () => {
    let n = 0;
    for (const m of messages) {
      const r = decode(m, opts, decoder as ZeekBinV1Decoder);
      if (!r.ok) throw new Error(r.detail);
      n += r.batch.records.length;
      sink += r.batch.records[0]?.length ?? 0;
    }
    return n;
  };
}

// Rendered records (copied: the decoder's slabs are reused) for the route-option passes.
const seed = new ZeekBinV1Decoder();
const records: { path: string; json: Buffer; sender: string }[] = [];
for (const m of messages) {
  const r = decodeLogWriteMessage(m, {}, seed);
  if (!r.ok) throw new Error(r.detail);
  for (const json of r.batch.records) records.push({ path: r.batch.path, json: Buffer.from(json), sender: r.sender });
}
const n = records.length;
const builders = new Map<string, EnvelopeBuilder>();
const FULL = { systemName: '{sender}', writeTs: true, timestamps: 'iso8601' } as const;
const builder = (kind: 'tagged' | 'inline', path: string, full = false): EnvelopeBuilder => {
  const k = `${kind}/${full}/${path}`;
  let b = builders.get(k);
  if (!b) builders.set(k, (b = new EnvelopeBuilder(kind, path, full ? FULL : {})));
  return b;
};
const routePass = (f: (r: (typeof records)[number]) => Buffer): (() => number) => () => {
  for (const r of records) sink += f(r).length;
  return n;
};
const now = Date.now();
const scoped = new KeyRewriter(naming);
const iso = new KeyRewriter({ timestamps: 'iso8601', timeFields: ['ts'] });

const passes: [string, () => number][] = [
  ['decode: default (epoch)', decodePass(new ZeekBinV1Decoder(), {})],
  ...(main ? ([['decode: default, main\'s code', decodePass(new main.Decoder(), {}, main.decode)]] as [string, () => number][]) : []),
  ['decode: timestamps iso8601', decodePass(new ZeekBinV1Decoder(), { timestamps: 'iso8601' })],
  ['decode: includeUnsetFields', decodePass(new ZeekBinV1Decoder(), { includeUnsetFields: true })],
  ['decode: scopeSeparator _ (renamed key table)', decodePass(new ZeekBinV1Decoder(undefined, naming), {})],
  ['route: raw (no copy)', routePass((r) => r.json)],
  ['route: tagged envelope', routePass((r) => builder('tagged', r.path).build(r.json))],
  ['route: inline envelope', routePass((r) => builder('inline', r.path).build(r))],
  ['route: inline + _system_name + _write_ts iso8601', routePass((r) => builder('inline', r.path, true).build({ json: r.json, sender: r.sender, receivedAtMs: now }))],
  ['route: rewrite keys scopeSeparator _', routePass((r) => scoped.rewrite(r.json))],
  ['route: convert ts to iso8601 by name', routePass((r) => iso.rewrite(r.json))],
];

const load0 = loadavg();
const timings = measure(n, passes.map(([, p]) => p), REPS, 2);
if (sink === 0) throw new Error('nothing measured');
const rows = passes.map(([name], i) => {
  const t = timings[i]!;
  return { name, nsPerRecordCpu: (t.cpuMs * 1e6) / n, nsPerRecordBest: (t.bestWallMs * 1e6) / n, recordsPerCpuSec: t.recordsPerCpuSec };
});
const cpu = cpus();
const report = {
  date: new Date().toISOString(), host: hostname(), cpuModel: cpu[0]?.model ?? 'unknown', cores: cpu.length, node: process.version,
  capture: 'load/cluster/load-a.jsonl', records: n, repetitions: REPS, loadAverage: { before: load0, after: loadavg() },
  note: 'single thread, passes alternate; CPU = median user+system time per pass; route passes run on already rendered records and add to a decode pass',
  rows,
};
const dir = join('bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `zeek-output-${report.date.slice(0, 10)}-${report.host}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
console.log(`\nZeek-native output options, ${report.cpuModel} (${report.cores} cores), Node ${report.node}, ${n} records\n`);
console.log('| pass | ns/record (CPU median) | ns/record (best wall) |\n|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.nsPerRecordCpu.toFixed(0)} | ${r.nsPerRecordBest.toFixed(0)} |`);
console.log(`\nwritten to ${file}`);
