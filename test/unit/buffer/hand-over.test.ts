// A reload replacing a sink: the old instance hands every record it has not delivered to the new
// one (BufferedSink.handOver / adopt), in order and before the records the new one takes, including
// batches in flight at the hand-over, whatever their outcome and whenever it comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferedSink } from '../../../src/buffer/buffered-sink.js';
import type { BufferOptions } from '../../../src/buffer/options.js';
import type { MessageStore } from '../../../src/buffer/store.js';
import { SpoolStore } from '../../../src/buffer/spool/store.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { message, payloads, sleep, tick, unitBuffer, until } from '../../helpers/records.js';

const base: BufferOptions = { ...unitBuffer, maxRecords: 100 };

function make(opts: Partial<BufferOptions> = {}, metrics = new Metrics()) {
  const transport = new FakeTransport();
  const sink = new BufferedSink('s', 'fake', transport, { ...base, ...opts }, { metrics, logger: silentLogger() });
  return { sink, transport, metrics };
}

async function dropped(metrics: Metrics): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'zeek_gateway_sink_dropped_total');
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

const numbered = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `r${from + i}`);
const closeStore = async (s: MessageStore): Promise<void> => s.close();

test('a memory sink hands what it holds to its successor: in order, before the successor\'s own records, nothing dropped', async () => {
  const metrics = new Metrics();
  const old = make({}, metrics);
  old.transport.connected = false;
  old.transport.failNext = 1_000_000; // its broker is unreachable: every send fails
  for (const p of numbered(0, 10)) old.sink.offer(message('conn', p));
  await until(() => old.transport.batches.length > 0);
  const next = make({}, metrics);
  const store = await old.sink.handOver(1000);
  assert.equal(store.records, 10);
  next.sink.adopt(store, closeStore);
  for (const p of numbered(10, 15)) next.sink.offer(message('conn', p));
  await until(() => next.transport.delivered.length === 15, 2000, 'all delivered by the successor');
  assert.deepEqual(payloads(next.transport.delivered), numbered(0, 15));
  assert.equal(old.transport.closed, true, 'the old instance closed');
  assert.equal(await dropped(metrics), 0, 'nothing counted as dropped');
  assert.equal(next.sink.records, 0);
});

test('a batch in flight at the hand-over that fails goes to the successor in its place', async () => {
  const old = make();
  old.transport.mode = 'manual';
  for (const p of numbered(0, 10)) old.sink.offer(message('conn', p));
  await until(() => old.transport.inFlight.length === 1);
  const handing = old.sink.handOver(5000);
  await tick();
  old.transport.fail(); // r0..r3 fail while the hand-over waits for them
  const store = await handing;
  assert.equal(old.transport.inFlight.length, 0, 'no new batch went out after the hand-over began');
  assert.equal(old.transport.batches.length, 1);
  const next = make();
  next.sink.adopt(store, closeStore);
  next.sink.offer(message('conn', 'after'));
  await until(() => next.transport.delivered.length === 11);
  assert.deepEqual(payloads(next.transport.delivered), [...numbered(0, 10), 'after']);
});

test('a batch still unsettled when the wait runs out goes over too; its late outcome changes nothing', async () => {
  for (const outcome of ['fail', 'ack'] as const) {
    const metrics = new Metrics();
    const old = make({}, metrics);
    old.transport.mode = 'manual';
    for (const p of numbered(0, 6)) old.sink.offer(message('conn', p));
    await until(() => old.transport.inFlight.length === 1);
    const store = await old.sink.handOver(30);
    const next = make({}, metrics);
    next.sink.adopt(store, closeStore);
    await until(() => next.transport.delivered.length === 6, 2000, `delivered by the successor (${outcome})`);
    if (outcome === 'fail') old.transport.fail();
    else old.transport.ack(); // the broker took it after all: at least once, a repeat
    await sleep(30);
    assert.deepEqual(payloads(next.transport.delivered), numbered(0, 6), outcome);
    assert.equal(next.sink.records, 0);
    assert.equal(old.sink.records, 0, `the old instance holds nothing (${outcome})`);
    assert.equal(await dropped(metrics), 0);
  }
});

test('more handed over than the successor\'s buffer takes: it is full until it delivered enough, and its when-full policy applies to new records', async () => {
  for (const whenFull of ['block', 'drop-newest', 'drop-oldest'] as const) {
    const metrics = new Metrics();
    const old = make({}, metrics);
    old.transport.mode = 'manual';
    for (const p of numbered(0, 10)) old.sink.offer(message('conn', p));
    await until(() => old.transport.inFlight.length === 1);
    const store = await old.sink.handOver(0);
    const next = make({ maxRecords: 4, whenFull }, metrics);
    next.transport.mode = 'manual';
    next.sink.adopt(store, closeStore);
    assert.equal(next.sink.records, 10, 'every record handed over is held');
    assert.equal(next.sink.isFull(), true, `full (${whenFull})`);
    let writable = false;
    void next.sink.whenWritable().then(() => (writable = true));
    next.sink.offer(message('conn', 'new'));
    await until(() => next.transport.inFlight.length === 1);
    const expected = {
      block: [...numbered(0, 10), 'new'], // taken (the ingress then waits), nothing dropped
      'drop-newest': numbered(0, 10), // the new record is dropped, counted
      'drop-oldest': [...numbered(1, 10), 'new'], // the oldest waiting record goes: a handed-over one
    }[whenFull];
    next.transport.mode = 'auto';
    next.transport.ack();
    await until(() => next.transport.delivered.length === expected.length, 2000, whenFull);
    assert.deepEqual(payloads(next.transport.delivered), expected, whenFull);
    assert.equal(writable, true, `writable again once delivered (${whenFull})`);
    assert.equal(await dropped(metrics), whenFull === 'block' ? 0 : 1, whenFull);
  }
});

test('a spool in a directory the successor does not use is delivered by the successor first, then its directory is removed', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'zlg-handover-unit-')), 's');
  const logger = silentLogger();
  const spool = await SpoolStore.open({ dir, maxBytes: 1 << 20, segmentBytes: 4096, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords: 2 }, { logger });
  const metrics = new Metrics();
  const old = new BufferedSink('s', 'fake', new FakeTransport(), base, { metrics, logger, openStore: async () => spool });
  const oldTransport = (old as unknown as { transport: FakeTransport }).transport;
  oldTransport.failNext = 1_000_000;
  await old.start();
  for (const p of numbered(0, 50)) old.offer(message('conn', p));
  assert.ok(readdirSync(dir).length > 0, 'spooled on disk');
  const store = await old.handOver(100);
  const next = make({}, metrics);
  let removed = false;
  next.sink.adopt(store, async (s) => {
    await (s as SpoolStore).closeAndRemove();
    removed = true;
  });
  next.sink.offer(message('conn', 'after'));
  await until(() => next.transport.delivered.length === 51, 3000, 'all delivered');
  assert.deepEqual(payloads(next.transport.delivered), [...numbered(0, 50), 'after']);
  await until(() => removed, 1000, 'the emptied spool removed');
  assert.equal(existsSync(dir), false, 'the old spool directory is gone');
  assert.equal(await dropped(metrics), 0);
});
