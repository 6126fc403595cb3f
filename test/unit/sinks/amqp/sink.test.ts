// The AMQP sink (BufferedSink with the amqp defaults, 20 batches in flight) over an amqplib-like
// channel with a bounded write buffer, late drains, late confirms and broker-side channel closes:
// records reach the broker in the order they were offered, and a publish the broker refuses
// (404, 403, 406) refuses only its records, once, without a storm of channels.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AmqpTransport } from '../../../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions, type AmqpOptions } from '../../../../src/sinks/amqp/options.js';
import { BufferedSink, bufferSchema, type BufferOptions } from '../../../../src/buffer/index.js';
import { schemaDefaults } from '../../../../src/sinks/shared/transport-options.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { Metrics } from '../../../../src/ops/metrics.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { CHANNEL_WRITE_HWM, FakeRecovering, fakeBroker, type FakeBroker } from '../../../helpers/fake-amqp.js';
import { record, sleep, until } from '../../../helpers/records.js';

const PATHS = ['conn', 'dns', 'http'];

function numbered(n: number, exchange = 'zeek'): OutboundMessage {
  const path = PATHS[n % PATHS.length] as string;
  const payload = `{"${path}":{"n":${n}}}`;
  return { record: record(path, payload, `worker-${n % 2}`), payload: Buffer.from(payload), address: { target: exchange, routingKey: path } };
}

const seq = (content: Buffer): number => Number(/"n":(\d+)/.exec(content.toString())?.[1]);

/** The first occurrence of every record, in the order the broker received them. */
function firstOccurrences(broker: FakeBroker): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const p of broker.received) {
    const n = seq(p.content);
    if (!seen.has(n)) out.push(n);
    seen.add(n);
  }
  return out;
}

/** The last occurrence of every record, in the order the broker received them. */
function lastOccurrences(broker: FakeBroker): number[] {
  const last = new Map<number, number>();
  broker.received.forEach((p, i) => last.set(seq(p.content), i));
  return [...last.entries()].sort((a, b) => a[1] - b[1]).map(([n]) => n);
}

function setUp(over: Partial<AmqpOptions> = {}, buffer: Partial<BufferOptions> = {}) {
  const broker = fakeBroker();
  const connections: FakeRecovering[] = [];
  const o = { ...defaultAmqpOptions(), confirmTimeoutMs: 5000, ...over };
  const transport = new AmqpTransport(o, { name: 'rabbit', logger: silentLogger() }, async (url, so) => {
    const c = new FakeRecovering(url, so as never, broker);
    connections.push(c);
    return c as never;
  });
  // The amqp sink's defaults: 20 batches in flight.
  const options: BufferOptions = { ...schemaDefaults<BufferOptions>(bufferSchema), maxInFlight: 20, maxRecords: 1_000_000, maxBytes: 1 << 30, retryInitialMs: 5, retryMaxMs: 50 };
  const metrics = new Metrics();
  const rejected: string[] = [];
  const sink = new BufferedSink('rabbit', 'amqp', transport, { ...options, ...buffer }, {
    metrics,
    logger: silentLogger(),
    onRejected: (m, reason) => rejected.push(`${seq(m.payload)}:${reason}`),
  });
  const conn = (): FakeRecovering => connections[connections.length - 1] as FakeRecovering;
  const start = async (): Promise<void> => {
    const started = sink.start();
    await until(() => connections.length > 0);
    await conn().connectNow();
    await started;
  };
  return { broker, sink, transport, conn, start, metrics, rejected };
}

describe('amqp publish order through the sink', () => {
  it('several batches offered in one turn reach the broker in order across write-buffer drains', async () => {
    const { broker, sink, start } = setUp();
    await start();
    const total = 6 * CHANNEL_WRITE_HWM + 17;
    for (let n = 0; n < total; n++) sink.offer(numbered(n));
    await until(() => sink.records === 0, 10_000, 'everything confirmed');
    assert.equal(broker.received.length, total, 'each record once');
    assert.deepEqual(
      broker.received.map((p) => seq(p.content)),
      Array.from({ length: total }, (_, n) => n),
    );
    await sink.close();
  });

  it('batches parked by connection.blocked go out in order once unblocked', async () => {
    const { broker, sink, start, conn } = setUp();
    await start();
    conn().emit('blocked', 'low on memory');
    for (let n = 0; n < 3000; n++) sink.offer(numbered(n));
    await sleep(30);
    assert.equal(broker.received.length, 0, 'nothing published while blocked');
    conn().emit('unblocked');
    await until(() => sink.records === 0, 10_000, 'everything confirmed');
    assert.deepEqual(
      broker.received.map((p) => seq(p.content)),
      Array.from({ length: 3000 }, (_, n) => n),
    );
    await sink.close();
  });

  it('after the connection drops mid-stream, the batches in flight go out again first: first occurrences keep their order', async () => {
    const { broker, sink, start, conn } = setUp();
    await start();
    const total = 8000;
    for (let n = 0; n < total; n++) sink.offer(numbered(n));
    await until(() => broker.received.length > 1500, 5000, 'part delivered');
    conn().drop();
    await sleep(20);
    await conn().connectNow();
    await until(() => sink.records === 0, 10_000, 'everything confirmed');
    assert.deepEqual(firstOccurrences(broker), Array.from({ length: total }, (_, n) => n));
    await sink.close();
  });

  // A nacked batch never reached a queue, so the later batches' first copies come before its
  // retry; they are sent again behind it, so the last copy of every record is in order.
  it('a nacked batch fails the batches confirmed after it, which go again behind its retry', async () => {
    const { broker, sink, start } = setUp();
    await start();
    // The broker nacks the first batch once and confirms the later ones first.
    let nacks = 0;
    broker.nack = (p) => {
      const nack = seq(p.content) < 1000 && nacks < 1000;
      if (nack) nacks++;
      return nack;
    };
    broker.confirmOrder = 'reversed';
    for (let n = 0; n < 3000; n++) sink.offer(numbered(n));
    await until(() => sink.records === 0, 10_000, 'everything confirmed');
    assert.equal(nacks, 1000, 'the first batch was nacked once');
    assert.deepEqual(lastOccurrences(broker), Array.from({ length: 3000 }, (_, n) => n));
    await sink.close();
  });
});

describe('amqp broker refusals through the sink', () => {
  const batchOf = (from: number, count: number, exchange = 'zeek') => Array.from({ length: count }, (_, i) => numbered(from + i, exchange));
  const confirmChannels = (c: FakeRecovering) => c.model?.confirmChannels.length ?? 0;

  it('an exchange deleted while running is declared again when declareExchange names it: every record arrives, one channel lost', async () => {
    const { broker, sink, start, conn, rejected } = setUp({ declareExchange: { name: 'zeek', type: 'topic', durable: true } });
    await start();
    for (const m of batchOf(0, 500)) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'first records confirmed');
    broker.exchanges.delete('zeek');
    for (const m of batchOf(500, 2500)) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'records after the deletion confirmed');
    assert.deepEqual(firstOccurrences(broker), Array.from({ length: 3000 }, (_, n) => n));
    assert.deepEqual(rejected, []);
    assert.equal(confirmChannels(conn()), 2, 'one channel closed by the 404, one new one');
    assert.ok(conn().model?.channels.some((c) => c.ops.includes('exchange zeek topic {"durable":true}')), 'declared again');
    await sink.close();
  });

  it('without declareExchange, the records of a deleted exchange are refused (no_exchange) and the others keep flowing', async () => {
    const { broker, sink, start, conn, rejected, metrics } = setUp();
    broker.exchanges.add('other');
    await start();
    for (const m of batchOf(0, 100, 'other')) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'first records confirmed');
    broker.exchanges.delete('other');
    const mixed = Array.from({ length: 2000 }, (_, i) => numbered(100 + i, i % 4 === 0 ? 'other' : 'zeek'));
    for (const m of mixed) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'records after the deletion settled');
    const refusedOnes = mixed.filter((m) => m.address.target === 'other').map((m) => `${seq(m.payload)}:no_exchange`);
    assert.deepEqual(rejected, refusedOnes);
    const zeek = mixed.filter((m) => m.address.target === 'zeek').map((m) => seq(m.payload));
    assert.deepEqual(firstOccurrences(broker).filter((n) => n >= 100), zeek);
    const dropped = (await metrics.registry.getSingleMetric('zeek_gateway_sink_dropped_total')?.get())?.values.find((v) => v.labels.reason === 'no_exchange');
    assert.equal(dropped?.value, refusedOnes.length);
    assert.ok(confirmChannels(conn()) <= 2, `${confirmChannels(conn())} confirm channels`);
    await sink.close();
  });

  it('403 on publish: the records of that exchange are refused (access_refused), the others delivered', async () => {
    const { broker, sink, start, conn, rejected } = setUp();
    broker.exchanges.add('secret');
    broker.denied.add('secret');
    await start();
    const mixed = Array.from({ length: 1500 }, (_, i) => numbered(i, i % 3 === 0 ? 'secret' : 'zeek'));
    for (const m of mixed) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'records settled');
    assert.deepEqual(
      rejected,
      mixed.filter((m) => m.address.target === 'secret').map((m) => `${seq(m.payload)}:access_refused`),
    );
    assert.deepEqual(firstOccurrences(broker), mixed.filter((m) => m.address.target === 'zeek').map((m) => seq(m.payload)));
    assert.equal(confirmChannels(conn()), 2, 'one channel closed by the 403');
    await sink.close();
  });

  it('406 for a message over max_message_size: larger records are refused (message_too_large), the others delivered', async () => {
    const { broker, sink, start, conn, rejected } = setUp();
    broker.maxMessageBytes = 100;
    await start();
    const big = (n: number): OutboundMessage => {
      const payload = `{"conn":{"n":${n},"pad":"${'x'.repeat(200)}"}}`;
      return { record: record('conn', payload), payload: Buffer.from(payload), address: { target: 'zeek', routingKey: 'conn' } };
    };
    const mixed = Array.from({ length: 1200 }, (_, i) => (i % 100 === 50 ? big(i) : numbered(i)));
    for (const m of mixed) sink.offer(m);
    await until(() => sink.records === 0, 5000, 'records settled');
    assert.deepEqual(rejected, mixed.filter((m) => m.payload.length > 100).map((m) => `${seq(m.payload)}:message_too_large`));
    assert.deepEqual(firstOccurrences(broker), mixed.filter((m) => m.payload.length <= 100).map((m) => seq(m.payload)));
    assert.equal(confirmChannels(conn()), 2, 'one channel closed by the 406');
    await sink.close();
  });
});
