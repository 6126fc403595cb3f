// Cost per record of each Zeek-native output option (issue 14) on the real load capture. Every
// pass is the whole render of a cluster record, decode plus envelope, as the PULL ingress and the
// router do it; the baseline is the default output (epoch timestamps, tagged envelope) measured in
// the same run, passes alternating, so each option's cost is its difference to that baseline.
// Run: node --import tsx bench/zeek-output.ts [repetitions=7]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { ZeekBinV1Decoder } from '../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../src/zeek/binary/log-write.js';
import { EnvelopeBuilder, type Envelope, type InlineOptions } from '../src/routing/envelope.js';
import { KeyRewriter, type RewriteOptions } from '../src/routing/rewrite-keys.js';
import type { DecodeOptions } from '../src/zeek/types.js';
import type { FieldNaming } from '../src/zeek/json/field-names.js';
import { loadCapture } from '../test/helpers/testdata.js';
import { measure } from './lib/measure.js';

const REPS = Number(process.argv[2] ?? 7);
const messages = loadCapture('load', 'cluster', 'load-a.jsonl');

interface Output {
  /** The PULL ingress's json options and field naming. */
  decode?: DecodeOptions;
  naming?: FieldNaming;
  /** The route's output options. */
  envelope?: Envelope;
  inline?: InlineOptions;
  rewrite?: RewriteOptions;
}

let sink = 0;
let records = 0;

/** One pass: every message decoded, every record rendered for one destination with these options. */
function pass(o: Output): () => number {
  const decoder = new ZeekBinV1Decoder(undefined, o.naming);
  const builders = new Map<string, EnvelopeBuilder>();
  const rewriter = o.rewrite && new KeyRewriter(o.rewrite);
  const receivedAtMs = Date.now();
  return () => {
    let n = 0;
    for (const m of messages) {
      const r = decodeLogWriteMessage(m, o.decode ?? {}, decoder);
      if (!r.ok) throw new Error(r.detail);
      let b = builders.get(r.batch.path);
      if (!b) builders.set(r.batch.path, (b = new EnvelopeBuilder(o.envelope ?? 'tagged', r.batch.path, o.inline)));
      const meta = { sender: r.sender, receivedAtMs };
      for (const json of r.batch.records) sink += b.build(rewriter ? rewriter.rewrite(json) : json, undefined, meta).length;
      n += r.batch.records.length;
    }
    return n;
  };
}

for (const m of messages) {
  const r = decodeLogWriteMessage(m, {}, new ZeekBinV1Decoder());
  if (!r.ok) throw new Error(r.detail);
  records += r.batch.records.length;
}

const passes: [string, Output][] = [
  ['default: epoch, tagged', {}],
  ['ingress timestamps iso8601', { decode: { timestamps: 'iso8601' } }],
  ['ingress timestamps millis', { decode: { timestamps: 'millis' } }],
  ['ingress includeUnsetFields', { decode: { includeUnsetFields: true } }],
  ['ingress scopeSeparator _', { naming: { scopeSeparator: '_' } }],
  ['route envelope raw', { envelope: 'raw' }],
  ['route envelope inline', { envelope: 'inline' }],
  ['route inline + _system_name + _write_ts iso8601', { envelope: 'inline', inline: { systemName: '{sender}', writeTs: true, timestamps: 'iso8601' } }],
  ['route scopeSeparator _ (key rewriter)', { rewrite: { scopeSeparator: '_' } }],
  ['route timestamps iso8601 on ts (key rewriter)', { rewrite: { timestamps: 'iso8601', timeFields: ['ts'] } }],
];

const load0 = loadavg();
const timings = measure(records, passes.map(([, o]) => pass(o)), REPS, 2);
if (sink === 0) throw new Error('nothing measured');
const base = timings[0]!;
const ns = (ms: number): number => (ms * 1e6) / records;
const rows = passes.map(([name], i) => {
  const t = timings[i]!;
  return {
    name,
    nsPerRecordCpu: ns(t.cpuMs),
    nsPerRecordBest: ns(t.bestWallMs),
    /** The option's cost: its difference to the default in the same run. */
    extraNsPerRecordCpu: ns(t.cpuMs - base.cpuMs),
    extraNsPerRecordBest: ns(t.bestWallMs - base.bestWallMs),
    recordsPerCpuSec: t.recordsPerCpuSec,
  };
});
const cpu = cpus();
const report = {
  date: new Date().toISOString(), host: hostname(), cpuModel: cpu[0]?.model ?? 'unknown', cores: cpu.length, node: process.version,
  capture: 'load/cluster/load-a.jsonl', records, repetitions: REPS, loadAverage: { before: load0, after: loadavg() },
  note: 'single thread, passes alternate; each pass decodes every batch and renders every record for one destination; CPU = median user+system time per pass; extra = difference to the default pass of the same run',
  rows,
};
const dir = join('bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `zeek-output-${report.date.slice(0, 10)}-${report.host}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
console.log(`\nZeek-native output options, ${report.cpuModel} (${report.cores} cores), Node ${report.node}, ${records} records\n`);
console.log('| pass | ns/record (CPU median) | extra vs default | ns/record (best wall) | extra vs default |\n|---|---:|---:|---:|---:|');
const sign = (x: number): string => (x >= 0 ? `+${x.toFixed(0)}` : x.toFixed(0));
for (const r of rows) {
  console.log(`| ${r.name} | ${r.nsPerRecordCpu.toFixed(0)} | ${sign(r.extraNsPerRecordCpu)} | ${r.nsPerRecordBest.toFixed(0)} | ${sign(r.extraNsPerRecordBest)} |`);
}
console.log(`\nwritten to ${file}`);
