import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SpoolStore, spoolOptionsFor, spoolProblems, type SpoolOptions } from '../../../../src/buffer/spool/store.js';
import { silentLogger } from '../../../../src/ops/log.js';
import type { Batch } from '../../../../src/buffer/store.js';
import { message, payloads, sleep, until } from '../../../helpers/records.js';

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-store-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function options(dir: string, o: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir, maxBytes: 1 << 30, segmentBytes: 1 << 20, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords: 4, ...o };
}

const open = (o: SpoolOptions) => SpoolStore.open(o, { logger: silentLogger() });
const rec = (i: number) => message('conn', `{"n":${i}}`);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `{"n":${a + i}}`);

/** Takes and settles everything waiting, in batches of `n`; returns the payloads in order. */
function drain(s: SpoolStore, n = 7): string[] {
  const out: string[] = [];
  for (let b = s.take(n, Infinity); b !== undefined; b = s.take(n, Infinity)) {
    out.push(...payloads(b.messages));
    s.settle(b);
  }
  return out;
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.seg'));
}

test('delivers in push order, across memory and disk; counts everything not settled', async (t) => {
  const s = await open(options(tmpDir(t), { memoryRecords: 3 }));
  for (let i = 0; i < 20; i++) s.push(rec(i));
  assert.equal(s.records, 20);
  assert.equal(s.waiting, 20);
  assert.equal(s.bytes, range(0, 20).reduce((n, p) => n + p.length, 0));
  assert.ok(s.stats.inMemory <= 3);
  const b = s.take(5, Infinity) as Batch;
  assert.deepEqual(payloads(b.messages), range(0, 5));
  assert.equal(s.records, 20);
  assert.equal(s.waiting, 15);
  s.settle(b);
  assert.equal(s.records, 15);
  assert.deepEqual(drain(s), range(5, 20));
  assert.equal(s.records, 0);
  assert.equal(s.bytes, 0);
  await s.close();
});

test('take respects maxBytes but always takes one record', async (t) => {
  const s = await open(options(tmpDir(t)));
  for (let i = 0; i < 4; i++) s.push(rec(i));
  assert.equal(s.take(10, 1)?.messages.length, 1);
  assert.equal(s.take(10, 17)?.messages.length, 2);
  assert.equal(s.take(0, 100), undefined);
  await s.close();
});

test('a restart delivers everything not settled, in order: waiting and in flight alike', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir));
  for (let i = 0; i < 30; i++) s.push(rec(i));
  s.settle(s.take(10, Infinity) as Batch);
  s.take(5, Infinity); // in flight at shutdown: not acknowledged, so delivered again
  await s.close();
  const again = await open(options(dir));
  assert.equal(again.records, 20);
  assert.equal(again.bytes, range(10, 30).reduce((n, p) => n + p.length, 0));
  for (let i = 30; i < 33; i++) again.push(rec(i));
  assert.deepEqual(drain(again), range(10, 33));
  await again.close();
  const third = await open(options(dir));
  assert.equal(third.records, 0);
  assert.deepEqual(drain(third), []);
  await third.close();
});

test('out-of-order settle: the cursor waits for the oldest batch; a restart repeats only what follows it', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir));
  for (let i = 0; i < 12; i++) s.push(rec(i));
  const [b1, b2, b3] = [s.take(3, Infinity), s.take(3, Infinity), s.take(3, Infinity)] as Batch[];
  assert.deepEqual(payloads((b1 as Batch).messages), range(0, 3));
  s.settle(b3 as Batch);
  s.settle(b2 as Batch);
  assert.equal(s.records, 6);
  await s.close();
  // b1 was not settled: it and everything after it come again (b2 and b3 as duplicates).
  let again = await open(options(dir));
  assert.deepEqual(drain(again), range(0, 12));
  await again.close();

  const dir2 = tmpDir(t);
  const s2 = await open(options(dir2));
  for (let i = 0; i < 12; i++) s2.push(rec(i));
  const [c1, c2] = [s2.take(3, Infinity), s2.take(3, Infinity)] as Batch[];
  s2.settle(c2 as Batch);
  s2.settle(c1 as Batch); // now both are behind the cursor
  await s2.close();
  again = await open(options(dir2));
  assert.deepEqual(drain(again), range(6, 12));
  await again.close();
});

test('giveBack: failed batches are the oldest waiting records again, in push order, without rewriting', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir, { memoryRecords: 2 }));
  for (let i = 0; i < 10; i++) s.push(rec(i));
  const b1 = s.take(3, Infinity) as Batch;
  const b2 = s.take(3, Infinity) as Batch;
  const size = fs.statSync(join(dir, segmentFiles(dir)[0] as string)).size;
  s.giveBack([b2, b1]);
  assert.equal(s.waiting, 10);
  assert.equal(s.records, 10);
  assert.equal(fs.statSync(join(dir, segmentFiles(dir)[0] as string)).size, size);
  // Given back while another batch is in flight: still push order.
  const c1 = s.take(2, Infinity) as Batch;
  const c2 = s.take(2, Infinity) as Batch;
  s.giveBack([c2]);
  s.giveBack([c1]);
  assert.deepEqual(drain(s, 4), range(0, 10));
  await s.close();
});

test('dropOldest: given-back records first, then disk-only ones, then memory; dropped records behind the cursor stay gone', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir, { memoryRecords: 2 }));
  for (let i = 0; i < 8; i++) s.push(rec(i));
  const b = s.take(2, Infinity) as Batch;
  s.giveBack([b]);
  assert.equal(s.dropOldest(), true); // 0, given back
  assert.equal(s.dropOldest(), true); // 1, given back
  assert.equal(s.dropOldest(), true); // 2, only on disk
  assert.equal(s.records, 5);
  assert.equal(s.bytes, range(3, 8).reduce((n, p) => n + p.length, 0));
  const inFlight = s.take(4, Infinity) as Batch;
  assert.deepEqual(payloads(inFlight.messages), range(3, 7));
  assert.equal(s.dropOldest(), true); // 7, in memory
  assert.equal(s.dropOldest(), false); // only in-flight records are left
  assert.equal(s.records, 4);
  await s.close();
  // 0-2 are behind the cursor; 7 is not (3-6 were never settled), so it comes back: the
  // cursor is one number, it cannot remember a hole.
  let again = await open(options(dir));
  assert.deepEqual(drain(again), range(3, 8));
  for (let i = 8; i < 11; i++) again.push(rec(i));
  const older = again.take(1, Infinity) as Batch;
  assert.equal(again.dropOldest(), true); // 9
  again.settle(older);
  await again.close();
  again = await open(options(dir));
  assert.deepEqual(drain(again), range(10, 11));
  await again.close();
});

test('size limit: full at maxBytes of segment files; settled segments are deleted whole', async (t) => {
  const dir = tmpDir(t);
  const payload = 'x'.repeat(1000);
  const s = await open(options(dir, { segmentBytes: 8192, maxBytes: 32_768 }));
  let pushed = 0;
  while (!s.full) {
    s.push(message('conn', payload));
    pushed++;
  }
  assert.ok(s.stats.diskBytes >= 32_768 && s.stats.diskBytes < 32_768 + 1100, `${s.stats.diskBytes}`);
  assert.equal(segmentFiles(dir).length, s.stats.segments);
  assert.ok(pushed >= 28 && pushed <= 32, `${pushed}`);
  // Settling less than a segment frees nothing; settling past one deletes it.
  s.settle(s.take(3, Infinity) as Batch);
  assert.equal(s.full, true);
  s.settle(s.take(7, Infinity) as Batch);
  assert.equal(s.full, false);
  assert.ok(s.stats.diskBytes < 32_768);
  assert.equal(segmentFiles(dir).length, s.stats.segments);
  await s.close();
});

test('checkpoint: saved at every settle with fsync always, on the interval otherwise', async (t) => {
  const cursorOf = (dir: string) => fs.readFileSync(join(dir, 'checkpoint')).readUInt32LE(8);
  const d1 = tmpDir(t);
  const always = await open(options(d1, { fsync: 'always' }));
  for (let i = 0; i < 5; i++) always.push(rec(i));
  always.settle(always.take(2, Infinity) as Batch);
  assert.equal(cursorOf(d1), 2);
  await always.close();

  const d2 = tmpDir(t);
  const interval = await open(options(d2, { fsync: 'interval', fsyncIntervalMs: 20 }));
  for (let i = 0; i < 5; i++) interval.push(rec(i));
  interval.settle(interval.take(3, Infinity) as Batch);
  assert.equal(fs.existsSync(join(d2, 'checkpoint')), false);
  // The first tick (20 ms) saves it; a busy machine may delay the timer.
  await until(() => fs.existsSync(join(d2, 'checkpoint')), 2000, 'the interval checkpoint');
  assert.equal(cursorOf(d2), 3);
  await interval.close();
});

test('receipt time: kept for records read back in the same run; the load time for recovered ones', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir, { memoryRecords: 0 }));
  const m = rec(1);
  s.push(m);
  const back = (s.take(1, Infinity) as Batch).messages[0];
  assert.notEqual(back, m, 'read back from disk');
  assert.ok(Math.abs((back?.record.receivedAt ?? NaN) - m.record.receivedAt) < 0.01);
  await s.close();
  await sleep(5);
  const before = performance.now();
  const again = await open(options(dir));
  const recovered = (again.take(1, Infinity) as Batch).messages[0];
  assert.ok((recovered?.record.receivedAt ?? 0) >= before);
  await again.close();
});

test('a failed write holds the record in memory, reports full, and is retried in order', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir, { memoryRecords: 1, fsyncIntervalMs: 50 }));
  s.push(rec(0));
  const failing = mock.method(fs, 'writeSync', () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  });
  s.push(rec(1));
  s.push(rec(2));
  assert.equal(s.full, true);
  assert.equal(s.stats.unwritten, 2);
  assert.equal(s.records, 3);
  failing.mock.restore();
  await sleep(1200); // the retry waits a second after a failure
  assert.equal(s.stats.unwritten, 0);
  assert.equal(s.full, false);
  s.push(rec(3));
  await s.close();
  const again = await open(options(dir));
  assert.deepEqual(drain(again), range(0, 4));
  assert.equal(again.stats.damagedRegions, 0);
  await again.close();
});

test('records delivered while the disk refused writes are never written, and the next start does not count them as lost', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir, { fsyncIntervalMs: 50 }));
  s.push(rec(0));
  const older = s.take(1, Infinity) as Batch; // in flight over the restart: the cursor stays at 0
  const failing = mock.method(fs, 'writeSync', () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  });
  s.push(rec(1));
  s.push(rec(2));
  s.settle(s.take(2, Infinity) as Batch); // delivered from memory: nothing left to write
  assert.equal(s.stats.unwritten, 0);
  failing.mock.restore();
  await sleep(1100); // no write is tried before the retry delay
  s.push(rec(3));
  assert.ok(older.messages.length === 1);
  await s.close();
  const again = await open(options(dir));
  assert.deepEqual(drain(again), [...range(0, 1), ...range(3, 4)]);
  assert.equal(again.stats.lostRecords, 0, 'records 1 and 2 were delivered, not lost');
  assert.equal(again.stats.damagedRegions, 0);
  await again.close();
});

test('settle and giveBack after close are harmless; the records come again at the next start', async (t) => {
  const dir = tmpDir(t);
  const s = await open(options(dir));
  for (let i = 0; i < 3; i++) s.push(rec(i));
  const b = s.take(3, Infinity) as Batch;
  await s.close();
  s.settle(b);
  s.giveBack([b]);
  assert.throws(() => s.push(rec(9)), /closed/);
  const again = await open(options(dir));
  assert.deepEqual(drain(again), range(0, 3));
  await again.close();
});

test('config: dir is required when enabled; each sink spools in its own subdirectory', () => {
  const c = { enabled: true, dir: '', maxBytes: 1 << 30, segmentBytes: 1 << 26, fsync: 'interval' as const, fsyncIntervalMs: 1000, memoryRecords: 10 };
  assert.deepEqual(spoolProblems(c).map((p) => p.key), ['dir']);
  assert.deepEqual(spoolProblems({ ...c, enabled: false }), []);
  assert.deepEqual(spoolProblems({ ...c, dir: '/var/spool/zlg', maxBytes: 1000 }).map((p) => p.key), ['maxBytes']);
  const o = spoolOptionsFor({ ...c, dir: '/var/spool/zlg' }, 'rabbit');
  assert.equal(o.dir, '/var/spool/zlg/rabbit');
  assert.equal('enabled' in o, false);
});
