import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SpoolStore } from '../../../../src/buffer/spool/store.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { usedBytes } from '../../../helpers/memory.js';
import { message } from '../../../helpers/records.js';


const MiB = 1024 * 1024;

test('memory stays bounded with 200k records spooled (memoryRecords 100), and they come back in order', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-memory-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const memoryRecords = 100;
  const s = await SpoolStore.open(
    { dir, maxBytes: 1 << 30, segmentBytes: 8 * MiB, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords },
    { logger: silentLogger() },
  );
  const pad = 'x'.repeat(500);
  const total = 200_000;
  const before = usedBytes();
  let peak = 0;
  for (let i = 0; i < total; i++) {
    s.push(message('conn', `{"n":${i},"pad":"${pad}"}`));
    if (i % 10_000 === 0) {
      assert.ok(s.stats.inMemory <= memoryRecords, `${s.stats.inMemory} in memory`);
      peak = Math.max(peak, usedBytes() - before);
    }
  }
  assert.equal(s.records, total);
  // Held in full, these records would take well over 100 MiB (payload alone ~100 MiB).
  const afterPush = usedBytes() - before;
  assert.ok(afterPush < 24 * MiB, `grew ${(afterPush / MiB).toFixed(1)} MiB while spooling`);
  assert.ok(s.stats.diskBytes > 100 * MiB);

  let next = 0;
  for (let b = s.take(1000, Infinity); b !== undefined; b = s.take(1000, Infinity)) {
    for (const m of b.messages) {
      const n = Number(/"n":(\d+)/.exec(m.payload.toString('latin1', 0, 20))?.[1]);
      assert.equal(n, next++);
    }
    assert.ok(s.stats.inMemory <= memoryRecords, `${s.stats.inMemory} in memory`);
    s.settle(b);
    if (next % 20_000 === 0) peak = Math.max(peak, usedBytes() - before);
  }
  assert.equal(next, total);
  assert.equal(s.records, 0);
  assert.ok(peak < 24 * MiB, `peak growth ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(s.stats.segments <= 1, 'settled segments deleted');
  t.diagnostic(`growth after spooling ${(afterPush / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`);
  await s.close();
});
