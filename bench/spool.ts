// Spool cost per fsync policy with 1 KiB records, against the memory store measured in the
// same run. Run: node --import tsx bench/spool.ts   (SPOOL_BENCH_DIR picks the file system)
// Writes bench/results/spool-<date>-<host>.json.
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SpoolStore, type FsyncPolicy } from '../src/buffer/spool/store.js';
import { MemoryStore } from '../src/buffer/memory-store.js';
import type { MessageStore } from '../src/buffer/store.js';
import type { OutboundMessage } from '../src/record.js';
import { silentLogger } from '../src/ops/log.js';
import { message, tick } from '../test/helpers/records.js';

const MiB = 1024 * 1024;

function records(n: number): OutboundMessage[] {
  const pad = 'x'.repeat(1000);
  return Array.from({ length: n }, (_, i) => message('conn', `{"n":${i},"pad":"${pad}"}`));
}

/** Pushes in runs of 1000 with a turn of the event loop between, as an ingress would. */
async function pushRate(store: MessageStore, msgs: OutboundMessage[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < msgs.length; i++) {
    store.push(msgs[i] as OutboundMessage);
    if (i % 1000 === 999) await tick();
  }
  return msgs.length / ((performance.now() - t0) / 1000);
}

/** take(1000) + settle until empty. */
function drainRate(store: MessageStore): number {
  const t0 = performance.now();
  let n = 0;
  for (let b = store.take(1000, Infinity); b !== undefined; b = store.take(1000, Infinity)) {
    n += b.messages.length;
    store.settle(b);
  }
  return n / ((performance.now() - t0) / 1000);
}

const fmt = (r: number) => `${Math.round(r).toLocaleString('en')} records/s`;

const root = fs.mkdtempSync(join(process.env.SPOOL_BENCH_DIR ?? os.tmpdir(), 'spool-bench-'));
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  host: os.hostname(),
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  node: process.version,
  recordBytes: 1024,
};
try {
  const memory = await pushRate(new MemoryStore(), records(200_000));
  results.memoryPushPerSecond = Math.round(memory);
  console.log(`memory store push: ${fmt(memory)}`);
  const cases: Array<[FsyncPolicy, number]> = [
    ['always', 3_000],
    ['interval', 200_000],
    ['never', 200_000],
  ];
  for (const [fsync, n] of cases) {
    const dir = join(root, fsync);
    const options = { dir, maxBytes: 4096 * MiB, segmentBytes: 64 * MiB, fsync, fsyncIntervalMs: 1000, memoryRecords: 10_000 };
    const s = await SpoolStore.open(options, { logger: silentLogger() });
    const push = await pushRate(s, records(n));
    await s.close();
    // A restart: every frame's checksum is verified at open.
    const t0 = performance.now();
    const again = await SpoolStore.open(options, { logger: silentLogger() });
    const openMs = performance.now() - t0;
    const mb = again.stats.diskBytes / MiB;
    // An outage's backlog: everything is read back from disk.
    const drain = drainRate(again);
    await again.close();
    results[fsync] = { pushPerSecond: Math.round(push), ratioToMemory: push / memory, reopenMiB: mb, reopenMs: openMs, drainPerSecond: Math.round(drain) };
    console.log(`${fsync}: push ${fmt(push)} (${((100 * push) / memory).toFixed(2)}% of memory); reopen ${mb.toFixed(0)} MiB in ${openMs.toFixed(0)} ms; take(1000)+settle ${fmt(drain)}`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
fs.mkdirSync('bench/results', { recursive: true });
const file = `bench/results/spool-${new Date().toISOString().slice(0, 10)}-${os.hostname()}.json`;
fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${file}`);
