// A stream of distinct paths (hostile, or a misconfigured sender) cannot grow the gateway's
// memory: the per-path caches of the router and the sinks stop caching past a bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferedSink } from '../../../src/buffer/buffered-sink.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { Router } from '../../../src/routing/router.js';
import { kafkaKind } from '../../../src/sinks/kafka/index.js';
import { RoutingTable, type SinkAddressing } from '../../../src/routing/table.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { memoryAfterGc } from '../../helpers/memory.js';
import { record, until } from '../../helpers/records.js';

test('100,000 distinct paths through the router and a sink: memory stays flat past the caches', async () => {
  const metrics = new Metrics();
  const transport = new FakeTransport();
  const sink = new BufferedSink(
    'k',
    'kafka',
    transport,
    { maxRecords: 1_000_000, maxBytes: 1 << 30, whenFull: 'block', batchMaxRecords: 1000, batchMaxBytes: 1 << 20, maxInFlight: 1, retryInitialMs: 5, retryMaxMs: 10 },
    { metrics, logger: silentLogger() },
  );
  const addressing = new Map<string, SinkAddressing>([['k', { name: 'k', envelope: 'tagged', defaults: { topic: 'zeek-{path}', keyField: '' }, address: kafkaKind.address }]]);
  const table = new RoutingTable({ include: [], exclude: [], stripFilterSuffix: false, defaultRoute: null, routes: [{ match: ['*'], destinations: [{ sink: 'k' }] }] }, addressing);
  const router = new Router(table, new Map([['k', sink]]), metrics);
  const path = (i: number): string => `p${String(i).padStart(199, '0')}`;
  const send = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) {
      router.route(record(path(i), '{"a":1}'));
      if (i % 1000 === 999) await until(() => sink.records === 0);
    }
    await until(() => sink.records === 0);
    transport.delivered.length = 0;
  };
  // Past every cache's bound first, then the measured stretch.
  await send(0, 20_000);
  const before = (await memoryAfterGc()).heapUsed;
  await send(20_000, 120_000);
  const grown = (await memoryAfterGc()).heapUsed - before;
  // Before the caps: each sink kept two counters per path (~30 MB for these paths).
  assert.ok(grown < 3 * 1024 * 1024, `heap grew by ${grown} bytes over 100,000 new paths`);
});
