// The disk spool on a disk that fills up (ENOSPC) and frees again: on a real small tmpfs the
// test mounts (CI runs as root; a test that cannot mount fails rather than skips).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BufferedSink } from '../../../../src/buffer/buffered-sink.js';
import type { BufferOptions, WhenFull } from '../../../../src/buffer/options.js';
import { openSinkSpool } from '../../../../src/buffer/spool/metrics.js';
import type { SpoolStore } from '../../../../src/buffer/spool/store.js';
import { Metrics } from '../../../../src/ops/metrics.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { FakeTransport } from '../../../helpers/fake-transport.js';
import { message, payloads, sleep, until } from '../../../helpers/records.js';
import { metricValue } from '../../../helpers/gateway.js';
import { stillAlive } from '../../../helpers/memory.js';

interface Ctx {
  after(fn: () => unknown): void;
}

/** A fresh tmpfs of `size` mounted for this test; `closing` runs before it is unmounted. */
function tmpfs(t: Ctx, size: string, closing: Array<() => Promise<void>>): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-enospc-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    // Not a skip: the full-disk behaviour is only proven on a full disk (CI runs as root).
    assert.fail(`cannot mount a tmpfs for the full-disk test (run as root): ${(err as Error).message}`);
  }
  t.after(async () => {
    try {
      for (const c of closing) await c();
    } finally {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir]); // still busy (a failed test left a file open): detach it
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  return dir;
}

/** Fills the file system of `dir` to the last byte; returns the filler's path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = fs.openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (let n = chunk.length; n > 0; ) {
      try {
        fs.writeSync(fd, chunk, 0, n);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        n >>= 1; // the last pages: smaller writes until not one byte fits
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return path;
}

const buffer = (whenFull: WhenFull): BufferOptions => ({
  maxRecords: 1_000_000,
  maxBytes: 1 << 30,
  whenFull,
  batchMaxRecords: 20,
  batchMaxBytes: 1 << 20,
  maxInFlight: 1,
  retryInitialMs: 1,
  retryMaxMs: 20,
});

async function spooledSink(dir: string, whenFull: WhenFull, transport: FakeTransport) {
  const metrics = new Metrics();
  let store: SpoolStore | undefined;
  const sink = new BufferedSink('s1', 'fake', transport, buffer(whenFull), {
    metrics,
    logger: silentLogger(),
    openStore: async () =>
      (store = await openSinkSpool(
        's1',
        { enabled: true, dir, maxBytes: 1 << 30, segmentBytes: 16 * 1024, fsync: 'interval', fsyncIntervalMs: 20, memoryRecords: 50 },
        metrics,
        silentLogger(),
      )),
  });
  await sink.start();
  return { sink, metrics, store: store as SpoolStore };
}

/** A spooled sink on a fresh 2 MiB tmpfs, closed before the unmount; its broker acknowledges, or is down. */
async function sinkOnTmpfs(t: Ctx, whenFull: WhenFull, broker: 'up' | 'down') {
  const closing: Array<() => Promise<void>> = [];
  const disk = tmpfs(t, '2m', closing);
  const transport = new FakeTransport();
  if (broker === 'down') transport.failNext = Number.MAX_SAFE_INTEGER;
  const spooled = await spooledSink(disk, whenFull, transport);
  closing.push(() => spooled.sink.close());
  return { ...spooled, transport, disk };
}

/** An ingress as the router drives it: before each message, wait while the blocking sink is full. */
function ingress(sink: BufferedSink, texts: string[], perMessage = 10) {
  const state = { offered: 0, done: false, maxHeld: 0 };
  const run = (async () => {
    for (let i = 0; i < texts.length; i += perMessage) {
      if (sink.blocking && sink.isFull()) await sink.whenWritable();
      for (const p of texts.slice(i, i + perMessage)) {
        sink.offer(message('conn', p));
        state.offered++;
      }
      state.maxHeld = Math.max(state.maxHeld, sink.records);
      await sleep(0);
    }
    state.done = true;
  })();
  return { state, run };
}

const texts = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `{"n":${a + i},"pad":"${'z'.repeat(300)}"}`);

test('block, broker up: while the disk is full records flow through memory one ingress message at a time (write errors counted); once space is back they are spooled again; all arrive once, in order', { timeout: 60_000 }, async (t) => {
  const { sink, metrics, store, transport, disk } = await sinkOnTmpfs(t, 'block', 'up');
  const want = texts(0, 3000); // ~1 MiB of frames in all
  sink.offer(message('conn', want[0] as string));
  await until(() => transport.delivered.length === 1, 5000, 'first record');
  const filler = fillDisk(disk);

  const whileFull = ingress(sink, want.slice(1, 1500));
  await until(() => whileFull.state.done, 20_000, 'the ingress going on while the disk is full');
  const errors = () => metricValue(metrics, 'zeek_gateway_sink_spool_write_errors_total', { sink: 's1', code: 'ENOSPC' });
  assert.ok((await errors()) >= 1, 'write errors counted');
  assert.ok(whileFull.state.maxHeld <= 2 * 10, `at most an ingress message or two in memory: ${whileFull.state.maxHeld}`);

  fs.rmSync(filler);
  await until(() => store.stats.unwritten === 0 && !sink.isFull(), 5000, 'writing again');
  const failuresOnceFree = await errors();
  const afterwards = ingress(sink, want.slice(1500));
  await until(() => afterwards.state.done, 10_000, 'the ingress once space is back');
  await until(() => transport.delivered.length === want.length, 10_000, 'every record delivered');
  assert.deepEqual(payloads(transport.delivered), want, 'once each, in order');
  assert.equal(sink.records, 0);
  assert.equal(await errors(), failuresOnceFree, 'no write failed once space was back');
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total'), 0);
});

test('block, broker down while the disk is full: nothing accepted is lost, the ingress waits, and after space and broker return all arrive once, in order', { timeout: 60_000 }, async (t) => {
  const { sink, metrics, transport, disk } = await sinkOnTmpfs(t, 'block', 'down');
  const filler = fillDisk(disk);
  const want = texts(0, 2000);
  const feed = ingress(sink, want);
  await sleep(1500);
  assert.ok(feed.state.offered > 0 && feed.state.offered <= 20, `the ingress is held back after one message or two: ${feed.state.offered}`);
  assert.ok(sink.isFull());

  fs.rmSync(filler);
  await until(() => feed.state.done, 10_000, 'the ingress resuming once space is back (broker still down)');
  transport.failNext = 0;
  await until(() => transport.delivered.length === want.length, 10_000, 'every record delivered');
  assert.deepEqual(payloads(transport.delivered), want);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total'), 0);
  assert.ok((await metricValue(metrics, 'zeek_gateway_sink_spool_write_errors_total', { code: 'ENOSPC' })) >= 1);
});

test('drop-newest: while the disk is full and the broker down, new records are dropped and counted; afterwards they are taken again', { timeout: 60_000 }, async (t) => {
  const { sink, metrics, transport, disk } = await sinkOnTmpfs(t, 'drop-newest', 'down');
  const filler = fillDisk(disk);
  const during = texts(0, 500);
  for (const p of during) sink.offer(message('conn', p));
  const dropped = await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'buffer-full' });
  assert.ok(dropped >= during.length - 5, `dropped while the disk is full: ${dropped}`);
  const kept = during.length - dropped;

  fs.rmSync(filler);
  await until(() => !sink.isFull(), 5000, 'writable again');
  const after = texts(500, 1500);
  for (const p of after) sink.offer(message('conn', p));
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total'), dropped, 'nothing dropped once space is back');
  transport.failNext = 0;
  await until(() => transport.delivered.length === kept + after.length, 10_000, 'delivery');
  assert.deepEqual(payloads(transport.delivered), [...during.slice(0, kept), ...after]);
});

test('drop-oldest on a full disk: every record dropped is released (only what the sink holds stays in memory); afterwards records are spooled again', { timeout: 60_000 }, async (t) => {
  const { sink, metrics, transport, disk } = await sinkOnTmpfs(t, 'drop-oldest', 'down');
  const before = texts(0, 100);
  for (const p of before) sink.offer(message('conn', p)); // on disk, then dropped first
  const filler = fillDisk(disk);
  const offered = 5000;
  const refs: Array<WeakRef<object>> = [];
  for (const p of texts(100, 100 + offered)) {
    const m = message('conn', p);
    refs.push(new WeakRef(m.payload));
    sink.offer(m);
    if (refs.length % 100 === 0) await sleep(0); // let failed sends come back, as over a real broker
  }
  const alive = await stillAlive(refs);
  const dropped = await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'buffer-full' });
  t.diagnostic(`held ${sink.records}, dropped ${dropped}, still in memory ${alive}`);
  assert.equal(dropped + sink.records, before.length + offered, 'every record is held or counted as dropped');
  assert.ok(dropped >= offered - 100, `most were dropped: ${dropped}`);
  assert.ok(alive <= sink.records, `${alive} offered records still in memory, but the sink holds only ${sink.records}`);

  fs.rmSync(filler);
  await until(() => !sink.isFull(), 5000, 'writable again');
  const after = texts(100 + offered, 600 + offered);
  for (const p of after) sink.offer(message('conn', p));
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total'), dropped, 'nothing dropped once space is back');
  const held = sink.records;
  transport.failNext = 0;
  await until(() => transport.delivered.length === held, 10_000, 'delivery');
  assert.deepEqual(payloads(transport.delivered).slice(-after.length), after);
});
