// Throughput of the Zeek cluster log-batch decoder on the real load captures, against a
// baseline on the same machine in the same run: JSON.parse of the same records' JSON
// lines (what a consumer pays just to parse what Zeek wrote).
// Run: node --import tsx bench/decoder.ts [repetitions=9]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { HeldMemory, HeldRecord } from '../src/buffer/index.js';
import { ZeekBinV1Decoder } from '../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../src/zeek/binary/log-write.js';
import { loadCapture, readLogLines } from '../test/helpers/testdata.js';
import { measure as measurePasses, type Timing } from './lib/measure.js';

const measure = (records: number, passes: readonly (() => number)[]): Timing[] => measurePasses(records, passes, REPS, WARMUP);

const REPS = Number(process.argv[2] ?? 9);
const WARMUP = 2;

const CAPTURES = ['load-a', 'load-a.bigbatch'];
const LOGS: [string, string][] = [
  ['worker-local-json', 'conn'],
  ['worker-local-json', 'dns'],
  ['worker-local-json', 'files'],
  ['worker-local-json', 'http'],
  ['worker-local-json', 'ntp'],
  ['worker-local-json', 'packet_filter'],
  ['worker-local-json', 'cluster'],
  ['worker-local-json', 'reporter'],
  ['manager-local-json', 'cluster'],
  ['manager-local-json', 'reporter'],
];

const results = [];
const load0 = loadavg();
for (const capture of CAPTURES) {
  // Untimed preparation: base64 decoding of the capture, reading the ground truth.
  const messages = loadCapture('load', 'cluster', `${capture}.jsonl`);
  const lines = LOGS.flatMap(([dir, path]) => readLogLines('load', 'cluster', `${capture}.logs`, dir, `${path}.log`));
  const payloadBytes = messages.reduce((n, m) => n + m[3]!.length, 0);
  const decoder = new ZeekBinV1Decoder();
  let outputBytes = 0;
  const records = messages.reduce((n, m) => {
    const r = decodeLogWriteMessage(m, {}, decoder);
    if (!r.ok) throw new Error(`${capture}: ${r.reason}: ${r.detail}`);
    for (const rec of r.batch.records) outputBytes += rec.length;
    return n + r.batch.records.length;
  }, 0);
  if (records !== lines.length) throw new Error(`${capture}: ${records} records vs ${lines.length} log lines`);

  let sink = 0; // keeps results observable so nothing is optimized away
  const decodePass = (): number => {
    let n = 0;
    for (const m of messages) {
      const r = decodeLogWriteMessage(m, {}, decoder);
      if (r.ok) {
        n += r.batch.records.length;
        sink += r.batch.records[0]?.length ?? 0;
      }
    }
    return n;
  };
  const parsePass = (): number => {
    let n = 0;
    for (const line of lines) {
      const v = JSON.parse(line) as { ts?: number };
      if (v.ts !== undefined) sink++;
      n++;
    }
    return n;
  };
  // What a sink that holds the records adds: a copy of each into its own memory (blocks of
  // 64 KiB), so that the records it holds keep no decoder slab alive.
  const heldPass = (): number => {
    const memory = new HeldMemory();
    let n = 0;
    for (const m of messages) {
      const r = decodeLogWriteMessage(m, {}, decoder);
      if (!r.ok) continue;
      for (const json of r.batch.records) {
        const held = new HeldRecord({ path: r.batch.path, json, ingress: 'pull', receivedAt: 0 }, memory.copy(json), 0, json.length);
        sink += held.payload.length;
        n++;
      }
    }
    return n;
  };
  const [dec, base, held] = measure(records, [decodePass, parsePass, heldPass]) as [Timing, Timing, Timing];
  if (sink === 0) throw new Error('nothing measured');
  results.push({
    capture,
    messages: messages.length,
    records,
    payloadBytes,
    outputBytes,
    decoder: { ...dec, payloadMBPerSec: payloadBytes / 1e6 / (dec.wallMs / 1000), outputMBPerSec: outputBytes / 1e6 / (dec.wallMs / 1000) },
    jsonParseBaseline: base,
    /** Decoding plus copying every record into a sink's own memory: the copy's CPU cost per record. */
    decodeAndHold: { ...held, copyNsPerRecord: ((held.cpuMs - dec.cpuMs) / records) * 1e6 },
    /** Decoder speed relative to JSON.parse of the same records (>1: decoder faster). */
    ratioWall: dec.recordsPerSec / base.recordsPerSec,
    ratioCpu: dec.recordsPerCpuSec / base.recordsPerCpuSec,
    ratioBest: dec.bestRecordsPerSec / base.bestRecordsPerSec,
  });
}

const cpuList = cpus();
const report = {
  date: new Date().toISOString(),
  host: hostname(),
  cpuModel: cpuList[0]?.model ?? 'unknown',
  cores: cpuList.length,
  node: process.version,
  v8: process.versions.v8,
  repetitions: REPS,
  warmup: WARMUP,
  loadAverage: { before: load0, after: loadavg() },
  note: 'single thread; decoder and JSON.parse passes alternate; medians of the repetitions in wall and CPU (user+system) time, plus the fastest pass',
  results,
};

const dir = join('bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `decoder-${report.date.slice(0, 10)}-${report.host}.json`);
writeFileSync(file, JSON.stringify(report, null, 2) + '\n');

const f0 = (x: number): string => Math.round(x).toLocaleString('en-US');
console.log(`\nZeek cluster batch decoder, ${report.cpuModel} (${report.cores} cores), Node ${report.node}, load ${load0.map((x) => x.toFixed(1)).join('/')}\n`);
console.log('medians of wall and CPU time per pass; best = fastest pass (least disturbed)\n');
console.log('| capture | records | decoder rec/s wall | CPU | best | payload MB/s | JSON.parse rec/s wall | CPU | best | ratio wall | CPU | best |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const d = r.decoder;
  const b = r.jsonParseBaseline;
  console.log(
    `| ${r.capture} | ${f0(r.records)} | ${f0(d.recordsPerSec)} | ${f0(d.recordsPerCpuSec)} | ${f0(d.bestRecordsPerSec)} | ${d.payloadMBPerSec.toFixed(1)} | ${f0(b.recordsPerSec)} | ${f0(b.recordsPerCpuSec)} | ${f0(b.bestRecordsPerSec)} | ${r.ratioWall.toFixed(2)} | ${r.ratioCpu.toFixed(2)} | ${r.ratioBest.toFixed(2)} |`,
  );
}
console.log('\ncopying each record into a sink\'s own memory (what a sink holding it does), CPU per record:\n');
for (const r of results) {
  const perRecord = (t: Timing): number => (t.cpuMs / r.records) * 1e6;
  console.log(`- ${r.capture}: decode ${perRecord(r.decoder).toFixed(0)} ns, decode + copy ${perRecord(r.decodeAndHold).toFixed(0)} ns: the copy ${r.decodeAndHold.copyNsPerRecord.toFixed(0)} ns`);
}
console.log(`\nwritten to ${file}`);
