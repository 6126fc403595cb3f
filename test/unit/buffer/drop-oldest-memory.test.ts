// drop-oldest lets go of what it drops: nothing but the records a sink holds stays in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BufferedSink } from '../../../src/buffer/buffered-sink.js';
import type { BufferOptions } from '../../../src/buffer/options.js';
import { SpoolStore } from '../../../src/buffer/spool/store.js';
import type { MessageStore } from '../../../src/buffer/store.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { metricValue } from '../../helpers/gateway.js';
import { stillAlive } from '../../helpers/memory.js';
import { message, sleep } from '../../helpers/records.js';

const options: BufferOptions = {
  maxRecords: 200,
  maxBytes: 1 << 30,
  whenFull: 'drop-oldest',
  batchMaxRecords: 20,
  batchMaxBytes: 1 << 20,
  maxInFlight: 2,
  retryInitialMs: 1,
  retryMaxMs: 20,
};

async function overflow(openStore: (() => Promise<MessageStore>) | undefined) {
  const transport = new FakeTransport();
  transport.failNext = Number.MAX_SAFE_INTEGER; // the broker is away: everything stays held
  const metrics = new Metrics();
  const sink = new BufferedSink('s1', 'fake', transport, options, { metrics, logger: silentLogger(), openStore });
  await sink.start();
  const offered = 20_000;
  const refs: Array<WeakRef<object>> = [];
  for (let i = 0; i < offered; i++) {
    const m = message('conn', `{"n":${i},"pad":"${'q'.repeat(200)}"}`);
    refs.push(new WeakRef(m.payload));
    sink.offer(m);
    if (i % 500 === 0) await sleep(0);
  }
  const alive = await stillAlive(refs);
  const dropped = await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'buffer-full' });
  const held = sink.records;
  await sink.close();
  return { offered, alive, dropped, held };
}

test('memory buffer: the records drop-oldest dropped are garbage, only the held ones stay', async () => {
  const r = await overflow(undefined);
  assert.equal(r.dropped + r.held, r.offered);
  assert.ok(r.held <= options.maxRecords + 1, `held ${r.held}`);
  assert.ok(r.alive <= r.held, `${r.alive} offered records still in memory; the sink holds ${r.held}`);
});

test('disk spool at its size limit: the records drop-oldest dropped are garbage, only the ones kept in memory stay', async (t) => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'drop-oldest-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const memoryRecords = 50;
  const r = await overflow(() =>
    SpoolStore.open(
      { dir, maxBytes: 64 * 1024, segmentBytes: 16 * 1024, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords },
      { logger: silentLogger() },
    ),
  );
  assert.equal(r.dropped + r.held, r.offered);
  assert.ok(r.dropped > r.offered / 2, `dropped ${r.dropped}`);
  // Held records beyond memoryRecords are on disk only; in memory also the batches given back.
  const bound = memoryRecords + options.batchMaxRecords * options.maxInFlight;
  assert.ok(r.alive <= bound, `${r.alive} offered records still in memory (bound ${bound}, held ${r.held})`);
});
