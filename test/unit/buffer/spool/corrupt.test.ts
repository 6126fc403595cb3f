import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SpoolStore, type SpoolDamage, type SpoolOptions } from '../../../../src/buffer/spool/store.js';
import { FRAME_MAGIC, SEGMENT_HEADER_BYTES } from '../../../../src/buffer/spool/format.js';
import { openSinkSpool } from '../../../../src/buffer/spool/metrics.js';
import { Metrics } from '../../../../src/ops/metrics.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { metricValue } from '../../../helpers/gateway.js';
import type { Batch } from '../../../../src/buffer/store.js';
import { message, payloads } from '../../../helpers/records.js';

const N = 60;
const rec = (i: number) => message('conn', `{"n":${i},"pad":"${'p'.repeat(200)}"}`);
const numbers = (ps: string[]) => ps.map((p) => (JSON.parse(p) as { n: number }).n);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** A closed spool of N records over several 4 KiB segments; `settled` of them acknowledged. */
async function spool(t: { after(fn: () => void): void }, settled = 0): Promise<{ dir: string; o: SpoolOptions; segs: string[] }> {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-corrupt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const o: SpoolOptions = { dir, maxBytes: 1 << 30, segmentBytes: 4096, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords: 8 };
  const s = await SpoolStore.open(o, { logger: silentLogger() });
  for (let i = 0; i < N; i++) s.push(rec(i));
  if (settled > 0) s.settle(s.take(settled, Infinity) as Batch);
  await s.close();
  return { dir, o, segs: fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort() };
}

async function reopen(o: SpoolOptions): Promise<{ delivered: number[]; damage: SpoolDamage[]; store: SpoolStore }> {
  const damage: SpoolDamage[] = [];
  const store = await SpoolStore.open(o, { logger: silentLogger(), onCorrupt: (d) => damage.push(d) });
  const records = store.records;
  const delivered: number[] = [];
  for (let b = store.take(5, Infinity); b !== undefined; b = store.take(5, Infinity)) {
    delivered.push(...numbers(payloads(b.messages)));
    store.settle(b);
  }
  assert.equal(delivered.length, records, 'records counted at open = records delivered');
  await store.close();
  return { delivered, damage, store };
}

/** Offsets of the frames in a segment file (by their magic). */
function frameOffsets(file: string): number[] {
  const b = fs.readFileSync(file);
  const out: number[] = [];
  for (let i = b.indexOf(FRAME_MAGIC); i >= 0; i = b.indexOf(FRAME_MAGIC, i + 1)) out.push(i);
  return out;
}

test('a flipped byte in the middle of a segment: that record is skipped and counted, all others delivered in order', async (t) => {
  const { dir, o, segs } = await spool(t);
  const file = join(dir, segs[1] as string);
  const offsets = frameOffsets(file);
  const victim = (offsets[2] as number) + 40;
  const b = fs.readFileSync(file);
  b[victim] = (b[victim] as number) ^ 0xff;
  fs.writeFileSync(file, b);
  const firstInSeg1 = frameOffsets(join(dir, segs[0] as string)).length;

  const { delivered, damage, store } = await reopen(o);
  const lost = firstInSeg1 + 2;
  assert.deepEqual(delivered, range(0, N).filter((n) => n !== lost));
  assert.equal(damage.length, 1, 'reported once, for that segment');
  assert.deepEqual(damage[0], { file: segs[1], regions: 1, bytes: (offsets[3] as number) - (offsets[2] as number), lostRecords: 1, tornTail: false });
  assert.deepEqual([store.stats.damagedRegions, store.stats.lostRecords], [1, 1]);
});

test('a torn tail (power cut mid-write): the partial record is skipped, the rest delivered', async (t) => {
  const { dir, o, segs } = await spool(t);
  const file = join(dir, segs.at(-1) as string);
  fs.truncateSync(file, fs.statSync(file).size - 5);
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(delivered, range(0, N - 1));
  assert.equal(damage.length, 1);
  assert.equal(damage[0]?.tornTail, true);
  assert.equal(damage[0]?.regions, 1);
});

test('a torn last frame: exactly the torn record is counted lost (metric included), the others delivered; the next start does not count it again', async (t) => {
  for (const keep of [30, 6]) {
    // Cut inside the body (its id survives) and inside the frame header (it does not).
    const { dir, o, segs } = await spool(t);
    const file = join(dir, segs.at(-1) as string);
    const last = frameOffsets(file).at(-1) as number;
    fs.truncateSync(file, last + keep);
    const metrics = new Metrics();
    const store = await openSinkSpool(basename(dir), { ...o, enabled: true, dir: dirname(dir) }, metrics, silentLogger());
    assert.equal(store.records, N - 1);
    assert.equal(store.stats.lostRecords, 1, `cut ${keep} bytes into the last frame`);
    assert.equal(await metricValue(metrics, 'zeek_gateway_sink_spool_lost_records_total', { sink: basename(dir) }), 1);
    await store.close();
    const { delivered, damage } = await reopen(o);
    assert.deepEqual(delivered, range(0, N - 1), 'the good ones are still there');
    assert.deepEqual(damage, [], 'the torn tail was cut off at the first start: not counted twice');
    const { damage: third } = await reopen(o);
    assert.deepEqual(third, []);
  }
});

test('torn frames of records delivered before the crash are not counted as lost', async (t) => {
  const { dir, o } = await spool(t, N);
  const segs = fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
  const file = join(dir, segs.at(-1) as string);
  fs.truncateSync(file, (frameOffsets(file).at(-1) as number) + 30);
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(delivered, []);
  assert.deepEqual(damage.map((d) => [d.tornTail, d.lostRecords]), [[true, 0]]);
});

test('a zero-filled tail (blocks allocated, never written): skipped as a torn tail, nothing lost', async (t) => {
  const { dir, o, segs } = await spool(t);
  fs.appendFileSync(join(dir, segs.at(-1) as string), Buffer.alloc(64 * 1024));
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(delivered, range(0, N));
  assert.deepEqual(damage.map((d) => [d.tornTail, d.bytes, d.lostRecords]), [[true, 64 * 1024, 0]]);
});

test('a damaged segment header: its frames are still found', async (t) => {
  const { dir, o, segs } = await spool(t);
  const file = join(dir, segs[0] as string);
  const b = fs.readFileSync(file);
  b.fill(0x41, 0, SEGMENT_HEADER_BYTES);
  fs.writeFileSync(file, b);
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(delivered, range(0, N));
  assert.deepEqual(damage.map((d) => [d.file, d.bytes, d.lostRecords]), [[segs[0], SEGMENT_HEADER_BYTES, 0]]);
});

test('no checkpoint: delivery starts at the oldest segment (repeats, no loss)', async (t) => {
  const { dir, o } = await spool(t, 25);
  fs.rmSync(join(dir, 'checkpoint'));
  const { delivered, damage } = await reopen(o);
  assert.equal(damage.length, 0);
  // The segments wholly settled were deleted; the oldest left starts at or before 25.
  assert.ok((delivered[0] as number) <= 25 && (delivered[0] as number) > 0, `starts at ${delivered[0]}`);
  assert.deepEqual(delivered, range(delivered[0] as number, N));
});

test('a damaged checkpoint: reported, and delivery starts at the oldest segment', async (t) => {
  const { dir, o } = await spool(t, 25);
  fs.writeFileSync(join(dir, 'checkpoint'), 'not a checkpoint');
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(damage.map((d) => d.file), ['checkpoint']);
  assert.ok((delivered[0] as number) <= 25);
  assert.deepEqual(delivered, range(delivered[0] as number, N));
});

test('foreign files are left alone; a garbage file named like a segment is counted, then deleted (nothing in it to deliver)', async (t) => {
  const { dir, o } = await spool(t);
  fs.writeFileSync(join(dir, 'README.txt'), 'mine');
  fs.writeFileSync(join(dir, '0000000000000999.seg'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff)));
  const { delivered, damage } = await reopen(o);
  assert.deepEqual(delivered, range(0, N));
  assert.equal(fs.readFileSync(join(dir, 'README.txt'), 'utf8'), 'mine');
  assert.deepEqual(damage.map((d) => [d.file, d.regions, d.bytes]), [['0000000000000999.seg', 1, 3000]]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['README.txt', 'checkpoint']);
  const s = await SpoolStore.open(o, { logger: silentLogger() });
  s.push(rec(1000));
  await s.close();
  const { delivered: after } = await reopen(o);
  assert.deepEqual(after, [1000]);
});

test('an empty directory, an empty segment file and a missing directory all open', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-corrupt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(join(dir, '0000000000000001.seg'), '');
  const o: SpoolOptions = { dir: join(dir, 'a', 'b'), maxBytes: 1 << 20, segmentBytes: 4096, fsync: 'always', fsyncIntervalMs: 1000, memoryRecords: 8 };
  const s = await SpoolStore.open(o, { logger: silentLogger() });
  assert.equal(s.records, 0);
  await s.close();
  const d2 = await reopen({ ...o, dir });
  assert.deepEqual(d2.delivered, []);
});

test('damage appearing while running: the unreadable record is counted as lost, the others delivered, counts stay right', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-corrupt-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const o: SpoolOptions = { dir, maxBytes: 1 << 30, segmentBytes: 4096, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords: 4 };
  const s = await SpoolStore.open(o, { logger: silentLogger() });
  for (let i = 0; i < N; i++) s.push(rec(i));
  const file = join(dir, fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).sort()[1] as string);
  const at = (frameOffsets(file)[1] as number) + 30;
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0]), 0, 1, at);
  fs.closeSync(fd);
  const delivered: number[] = [];
  for (let b = s.take(5, Infinity); b !== undefined; b = s.take(5, Infinity)) {
    delivered.push(...numbers(payloads(b.messages)));
    s.settle(b);
  }
  assert.equal(delivered.length, N - 1);
  assert.deepEqual(delivered, [...delivered].sort((a, b) => a - b));
  assert.equal(s.records, 0);
  assert.equal(s.bytes, 0);
  assert.equal(s.stats.lostRecords, 1);
  await s.close();
});
