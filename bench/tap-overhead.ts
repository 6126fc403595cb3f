// Throughput of the gateway with and without a live tap client attached, in the same run:
//
//   node --import tsx bench/tap-overhead.ts [--records 200000] [--rounds 3]
//
// An in-process gateway (PULL ingress in the NCSA format, a console sink writing to /dev/null, so
// no broker sets the pace) takes the same numbered real records as fast as a PUSH socket sends
// them; each round measures records/s with no tap, then with one tap client at its maximum rate
// (1,000 lines/s) reading everything — in alternating order (odd rounds without first, even rounds
// with first), so that the machine's drift favours neither. Per run: records/s and CPU-µs per record
// (this process: gateway and sender). Results go to bench/results/tap-overhead-<date>.{json,md}.
import * as zmq from 'zeromq';
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startGateway, freePort, metricValue } from '../test/helpers/gateway.js';
import { numbered } from '../test/helpers/load.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '3' } } });
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);

const endpoint = `tcp://127.0.0.1:${await freePort()}`;
const gw = await startGateway({
  ingress: { sub: { enabled: false }, pull: { enabled: true, format: 'ncsa', endpoints: [endpoint], receiveHighWaterMark: 10_000 } },
  sinks: { out: { type: 'console', file: '/dev/null', buffer: { maxRecords: 50_000 } } },
  routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'out' }] }] },
});
const push = new zmq.Push({ sendHighWaterMark: 0, linger: 0 });
push.connect(endpoint);
const records = numbered(RECORDS);

interface Run {
  recordsPerSecond: number;
  cpuMicrosPerRecord: number;
}

async function run(): Promise<Run> {
  const start = await metricValue(gw.metrics, 'zeek_gateway_records_received_total');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const r of records) await push.send(r);
  while ((await metricValue(gw.metrics, 'zeek_gateway_records_received_total')) < start + RECORDS) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { recordsPerSecond: (RECORDS * 1000) / ms, cpuMicrosPerRecord: (cpu.user + cpu.system) / RECORDS };
}

let lines = 0;
async function withTapAttached(): Promise<Run> {
  const detach = gw.gateway.tap.attach(
    { limit: 0, ratePerSecond: 1000 },
    { write: (chunk: string) => (lines += chunk.length > 0 ? 1 : 0), end: () => undefined, writableLength: 0 },
  );
  try {
    return await run();
  } finally {
    detach();
  }
}

const rows: Array<{ round: number; order: string; without: Run; with: Run }> = [];
await run(); // warm-up
for (let round = 1; round <= ROUNDS; round++) {
  const tapFirst = round % 2 === 0;
  const first = tapFirst ? await withTapAttached() : await run();
  const second = tapFirst ? await run() : await withTapAttached();
  rows.push({ round, order: tapFirst ? 'tap first' : 'tap second', without: tapFirst ? second : first, with: tapFirst ? first : second });
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const rateRatio = median(rows.map((r) => r.with.recordsPerSecond / r.without.recordsPerSecond));
const cpuRatio = median(rows.map((r) => r.with.cpuMicrosPerRecord / r.without.cpuMicrosPerRecord));
const spread = (k: 'without' | 'with'): string => {
  const v = rows.map((r) => r[k].recordsPerSecond);
  return `${Math.round(Math.min(...v))}–${Math.round(Math.max(...v))}`;
};
const table = [
  '| round | order | records/s without | records/s with a tap | CPU-µs/record without | with |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.round} | ${r.order} | ${Math.round(r.without.recordsPerSecond)} | ${Math.round(r.with.recordsPerSecond)} | ${r.without.cpuMicrosPerRecord.toFixed(2)} | ${r.with.cpuMicrosPerRecord.toFixed(2)} |`),
].join('\n');
const summary =
  `median ratio with a tap client / without: records/s ${rateRatio.toFixed(3)}, CPU per record ${cpuRatio.toFixed(3)} ` +
  `(records/s without a tap ranged ${spread('without')}, with ${spread('with')}); tap lines written: ${lines}`;
console.log(table);
console.log(summary);
const date = new Date().toISOString().slice(0, 10);
const machine = { cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))), node: process.version };
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL(`tap-overhead-${date}.json`, dir), JSON.stringify({ date, records: RECORDS, rounds: rows, rateRatio, cpuRatio, tapLines: lines, machine }, null, 2) + '\n');
writeFileSync(
  new URL(`tap-overhead-${date}.md`, dir),
  `# Tap overhead, ${date}\n\n\`node --import tsx bench/tap-overhead.ts --records ${RECORDS} --rounds ${ROUNDS}\` ` +
    `(Node ${process.version}, ${machine.cpus} cores, load average ${machine.loadavg.join(' ')} at the end)\n\n${table}\n\n${summary}\n`,
);
push.close();
await gw.stop(5000);
process.exit(0);
