// Measures the spool's cost per fsync policy with 1 KiB records. Skipped unless
// SPOOL_BENCH=1:  SPOOL_BENCH=1 node scripts/run-tests.mjs spool-bench
// SPOOL_BENCH_DIR picks the file system (default: the OS temp directory).
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SpoolStore, type FsyncPolicy } from '../../../src/sinks/spool-store.js';
import { MemoryStore } from '../../../src/sinks/memory-store.js';
import type { MessageStore } from '../../../src/sinks/store.js';
import type { OutboundMessage } from '../../../src/sinks/message.js';
import { silentLogger } from '../../../src/ops/log.js';
import { message, tick } from '../../helpers/records.js';

const enabled = process.env.SPOOL_BENCH === '1';
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

test('spool cost per fsync policy, 1 KiB records', { skip: !enabled, timeout: 600_000 }, async (t) => {
  const root = fs.mkdtempSync(join(process.env.SPOOL_BENCH_DIR ?? os.tmpdir(), 'spool-bench-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  t.diagnostic(`memory store push: ${fmt(await pushRate(new MemoryStore(), records(200_000)))}`);
  const cases: Array<[FsyncPolicy, number]> = [
    ['always', 3_000],
    ['interval', 200_000],
    ['never', 200_000],
  ];
  for (const [fsync, n] of cases) {
    const dir = join(root, fsync);
    const s = await SpoolStore.open(
      { dir, maxBytes: 4096 * MiB, segmentBytes: 64 * MiB, fsync, fsyncIntervalMs: 1000, memoryRecords: 10_000 },
      { logger: silentLogger() },
    );
    const push = await pushRate(s, records(n));
    await s.close();
    // A restart: every frame's checksum is verified at open.
    const t0 = performance.now();
    const again = await SpoolStore.open(
      { dir, maxBytes: 4096 * MiB, segmentBytes: 64 * MiB, fsync, fsyncIntervalMs: 1000, memoryRecords: 10_000 },
      { logger: silentLogger() },
    );
    const openMs = performance.now() - t0;
    const mb = again.stats.diskBytes / MiB;
    // An outage's backlog: everything is read back from disk.
    const drain = drainRate(again);
    await again.close();
    t.diagnostic(
      `${fsync}: push ${fmt(push)}; reopen ${mb.toFixed(0)} MiB in ${openMs.toFixed(0)} ms; take(1000)+settle ${fmt(drain)}`,
    );
  }
});
