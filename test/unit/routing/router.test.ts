import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/routing/router.js';
import { RoutingTable, type SinkAddressing } from '../../../src/routing/table.js';
import { BufferedSink } from '../../../src/buffer/buffered-sink.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { amqpKind } from '../../../src/sinks/amqp/index.js';
import { kafkaKind } from '../../../src/sinks/kafka/index.js';
import { consoleKind } from '../../../src/sinks/console/index.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { record, until } from '../../helpers/records.js';

function setup(whenFull: 'block' | 'drop-newest' = 'block') {
  const metrics = new Metrics();
  const addressing = new Map<string, SinkAddressing>([
    ['amqp', { name: 'amqp', envelope: 'tagged', defaults: { exchange: 'zeek', routingKey: '{path}' }, address: amqpKind.address }],
    ['kafka', { name: 'kafka', envelope: 'tagged', defaults: { topic: 'zeek-{path}', keyField: 'uid' }, address: kafkaKind.address }],
  ]);
  const transports = { amqp: new FakeTransport(), kafka: new FakeTransport() };
  const opts = {
    maxRecords: 2, maxBytes: 1 << 20, whenFull, batchMaxRecords: 100, batchMaxBytes: 1 << 20,
    maxInFlight: 1, retryInitialMs: 5, retryMaxMs: 10,
  } as const;
  const sinks = new Map([
    ['amqp', new BufferedSink('amqp', 'amqp', transports.amqp, opts, { metrics, logger: silentLogger() })],
    ['kafka', new BufferedSink('kafka', 'kafka', transports.kafka, { ...opts, whenFull: 'drop-newest' }, { metrics, logger: silentLogger() })],
  ]);
  const table = new RoutingTable(
    {
      include: [], exclude: ['weird'], stripFilterSuffix: false, defaultRoute: null,
      routes: [
        { match: ['conn'], destinations: [{ sink: 'amqp' }, { sink: 'kafka' }, { sink: 'amqp', envelope: 'raw', routingKey: 'raw.{path}' }] },
        { match: ['dns'], destinations: [{ sink: 'kafka' }] },
      ],
    },
    addressing,
  );
  return { router: new Router(table, sinks, metrics), transports, metrics, sinks };
}

test('fans a record out to every destination with its envelope, address and key', async () => {
  const { router, transports } = setup();
  router.route(record('conn', '{"ts":1.0,"uid":"CAbc"}'));
  await until(() => transports.amqp.delivered.length === 2 && transports.kafka.delivered.length === 1);
  const [tagged, raw] = transports.amqp.delivered;
  assert.equal(tagged!.payload.toString(), '{"conn":{"ts":1.0,"uid":"CAbc"}}');
  assert.deepEqual(tagged!.address, { target: 'zeek', routingKey: 'conn' });
  assert.equal(raw!.payload.toString(), '{"ts":1.0,"uid":"CAbc"}');
  assert.equal(raw!.address.routingKey, 'raw.conn');
  const k = transports.kafka.delivered[0]!;
  assert.equal(k.address.target, 'zeek-conn');
  assert.equal(k.address.key?.toString(), 'CAbc');
  // Each sink holds its copy in memory of its own, so that one sink's backlog pins nothing of the other's.
  assert.equal(k.payload.toString(), tagged!.payload.toString());
  assert.notEqual(k.payload.buffer, tagged!.payload.buffer);
  assert.equal(k.payload.buffer, k.address.key!.buffer, 'the key is held in the sink memory too');
  // The record travels as the range of the payload that holds it.
  assert.equal(tagged!.record.json.toString(), '{"ts":1.0,"uid":"CAbc"}');
  assert.equal(tagged!.record.json.buffer, tagged!.payload.buffer);
});

test('counts routed and unrouted records per path and reason', async () => {
  const { router, metrics } = setup();
  router.route(record('dns', '{"uid":"C1"}'));
  router.route(record('weird', '{}'));
  router.route(record('ssl', '{}'));
  router.route(record('ssl', '{}'));
  const json = await metrics.registry.getMetricsAsJSON();
  const routed = json.find((m) => m.name === 'zeek_gateway_records_routed_total')!.values;
  const unrouted = json.find((m) => m.name === 'zeek_gateway_records_unrouted_total')!.values;
  assert.deepEqual(routed.map((v) => [v.labels.path, v.value]), [['dns', 1]]);
  assert.deepEqual(
    unrouted.map((v) => [v.labels.path, v.labels.reason, v.value]),
    [['weird', 'excluded', 1], ['ssl', 'no-route', 2]],
  );
});

test('only a full blocking sink makes the ingress wait', async () => {
  const { router, transports } = setup();
  transports.amqp.mode = 'manual';
  transports.kafka.mode = 'manual';
  router.route(record('dns', '{"uid":"1"}'));
  router.route(record('dns', '{"uid":"2"}'));
  router.route(record('dns', '{"uid":"3"}'));
  assert.equal(router.mustWait(), false, 'the dropping kafka sink is full but never blocks');
  router.route(record('conn', '{"uid":"4"}'));
  assert.equal(router.mustWait(), true, 'the blocking amqp sink holds 2 records, its high-water mark');
  let resumed = false;
  void router.whenWritable().then(() => (resumed = true));
  await until(() => transports.amqp.inFlight.length === 1);
  assert.equal(resumed, false);
  transports.amqp.mode = 'auto';
  transports.amqp.ack();
  await until(() => resumed, 1000, 'resume');
});

test('each destination gets its own output format; equal formats give equal payloads, each in its sink\'s memory', async () => {
  const metrics = new Metrics();
  const addressing = new Map<string, SinkAddressing>([
    ['a', { name: 'a', envelope: 'tagged', defaults: {}, address: consoleKind.address }],
    ['b', { name: 'b', envelope: 'tagged', defaults: {}, address: consoleKind.address }],
  ]);
  const transports = { a: new FakeTransport(), b: new FakeTransport() };
  const opts = {
    maxRecords: 10, maxBytes: 1 << 20, whenFull: 'block', batchMaxRecords: 100, batchMaxBytes: 1 << 20,
    maxInFlight: 1, retryInitialMs: 5, retryMaxMs: 10,
  } as const;
  const sinks = new Map([
    ['a', new BufferedSink('a', 'console', transports.a, opts, { metrics, logger: silentLogger() })],
    ['b', new BufferedSink('b', 'console', transports.b, opts, { metrics, logger: silentLogger() })],
  ]);
  const elastic = { envelope: 'inline', scopeSeparator: '_', timestamps: 'iso8601', systemName: '{sender}' } as const;
  const table = new RoutingTable(
    {
      include: [], exclude: [], stripFilterSuffix: false, defaultRoute: null,
      routes: [{ match: ['conn'], destinations: [{ sink: 'a', ...elastic }, { sink: 'b', ...elastic }, { sink: 'b', envelope: 'raw' }, { sink: 'a' }] }],
    },
    addressing,
  );
  const router = new Router(table, sinks, metrics);
  router.route(record('conn', '{"ts":1254722767.49206,"id.orig_h":"10.0.0.1"}', 'worker-1'));
  await until(() => transports.a.delivered.length === 2 && transports.b.delivered.length === 2);
  const [aInline, aTagged] = transports.a.delivered;
  const [bInline, bRaw] = transports.b.delivered;
  assert.equal(aInline!.payload.toString(), '{"_path":"conn","_system_name":"worker-1","ts":"2009-10-05T06:06:07.492060Z","id_orig_h":"10.0.0.1"}');
  assert.equal(bInline!.payload.toString(), aInline!.payload.toString());
  assert.notEqual(bInline!.payload.buffer, aInline!.payload.buffer, 'each sink holds its own copy');
  // The record travels as the delivered record: renamed and inline, a range of its payload.
  assert.equal(aInline!.record.json.toString(), aInline!.payload.toString());
  assert.equal(aTagged!.record.json.toString(), '{"ts":1254722767.49206,"id.orig_h":"10.0.0.1"}');
  assert.equal(bRaw!.payload.toString(), '{"ts":1254722767.49206,"id.orig_h":"10.0.0.1"}');
  assert.equal(aTagged!.payload.toString(), '{"conn":{"ts":1254722767.49206,"id.orig_h":"10.0.0.1"}}');
});
