// The spool behind a real BufferedSink (through its `openStore` dependency): outages longer
// than memory, retries, and a restart in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BufferedSink } from '../../../../src/buffer/buffered-sink.js';
import type { BufferOptions } from '../../../../src/buffer/options.js';
import { SpoolStore, type SpoolOptions } from '../../../../src/buffer/spool/store.js';
import { Metrics } from '../../../../src/ops/metrics.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { FakeTransport } from '../../../helpers/fake-transport.js';
import { message, payloads, until } from '../../../helpers/records.js';

const buffer: BufferOptions = {
  maxRecords: 1_000_000, // the spool's own limit applies once wired; not under test here
  maxBytes: 1 << 30,
  whenFull: 'block',
  batchMaxRecords: 50,
  batchMaxBytes: 1 << 20,
  // 1: the order promise.
  maxInFlight: 1,
  retryInitialMs: 1,
  retryMaxMs: 5,
};

async function sinkWithSpool(dir: string, transport: FakeTransport, o: Partial<SpoolOptions> = {}) {
  const store = await SpoolStore.open(
    { dir, maxBytes: 1 << 30, segmentBytes: 64 * 1024, fsync: 'interval', fsyncIntervalMs: 20, memoryRecords: 50, ...o },
    { logger: silentLogger() },
  );
  const sink = new BufferedSink('s1', 'fake', transport, buffer, {
    metrics: new Metrics(),
    logger: silentLogger(),
    openStore: async () => store,
  });
  await sink.start();
  return { sink, store };
}

const texts = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `{"n":${a + i}}`);

test('an outage longer than memory: everything is delivered once the broker is back, in order', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-sink-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const transport = new FakeTransport();
  transport.failNext = 40;
  const { sink, store } = await sinkWithSpool(dir, transport);
  for (const p of texts(0, 5000)) sink.offer(message('conn', p));
  assert.ok(store.stats.inMemory <= 50 + buffer.batchMaxRecords * buffer.maxInFlight);
  await until(() => transport.delivered.length === 5000, 10_000, 'delivery');
  assert.deepEqual(payloads(transport.delivered), texts(0, 5000));
  assert.equal(sink.records, 0);
  await sink.close();
});

test('a restart during an outage: what was held is delivered by the next run, in order, before new records', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-sink-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const down = new FakeTransport();
  down.failNext = Number.MAX_SAFE_INTEGER;
  const first = await sinkWithSpool(dir, down);
  for (const p of texts(0, 700)) first.sink.offer(message('conn', p));
  await until(() => down.batches.length > 3, 5000, 'retries');
  assert.equal(await first.sink.drain(20), 700);
  await first.sink.close();

  const up = new FakeTransport();
  const second = await sinkWithSpool(dir, up);
  assert.equal(second.sink.records, 700);
  for (const p of texts(700, 750)) second.sink.offer(message('conn', p));
  await until(() => up.delivered.length === 750, 10_000, 'delivery after restart');
  assert.deepEqual(payloads(up.delivered), texts(0, 750));
  await second.sink.close();
  const third = await sinkWithSpool(dir, new FakeTransport());
  assert.equal(third.sink.records, 0);
  await third.sink.close();
});
