// Throughput of the gateway with and without a live tap client attached, in the same run:
//
//   node --import tsx bench/tap-overhead.ts [--records 200000] [--rounds 3]
//
// An in-process gateway (PULL ingress in the NCSA format, a console sink writing to /dev/null, so
// no broker sets the pace) takes the same numbered real records as fast as a PUSH socket sends
// them; each round measures records/s with no tap, then with one tap client at its maximum rate
// (1,000 lines/s) reading everything. The tap costs the router one boolean check per record when
// no client is attached, so the two figures should agree within the machine's noise.
import * as zmq from 'zeromq';
import { parseArgs } from 'node:util';
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

async function run(): Promise<number> {
  const start = await metricValue(gw.metrics, 'zeek_gateway_records_received_total');
  const t0 = performance.now();
  for (const r of records) await push.send(r);
  while ((await metricValue(gw.metrics, 'zeek_gateway_records_received_total')) < start + RECORDS) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return (RECORDS * 1000) / (performance.now() - t0);
}

let lines = 0;
const rows: Array<{ round: number; withoutTap: number; withTap: number }> = [];
await run(); // warm-up
for (let round = 1; round <= ROUNDS; round++) {
  const withoutTap = await run();
  const detach = gw.gateway.tap.attach(
    { limit: 0, ratePerSecond: 1000 },
    { write: (chunk: string) => (lines += chunk.length > 0 ? 1 : 0), end: () => undefined, writableLength: 0 },
  );
  const withTap = await run();
  detach();
  rows.push({ round, withoutTap: Math.round(withoutTap), withTap: Math.round(withTap) });
}
console.table(rows);
const mean = (k: 'withoutTap' | 'withTap'): number => rows.reduce((n, r) => n + r[k], 0) / rows.length;
console.log(
  `mean records/s without tap ${Math.round(mean('withoutTap'))}, with a tap client ${Math.round(mean('withTap'))} ` +
    `(${(((mean('withTap') - mean('withoutTap')) / mean('withoutTap')) * 100).toFixed(1)} %); tap lines written: ${lines}`,
);
push.close();
await gw.stop(5000);
process.exit(0);
