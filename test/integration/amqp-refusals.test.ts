// Broker-side channel closes against the local RabbitMQ: an exchange deleted while the sink
// publishes to it (404 on basic.publish). With declareExchange the sink declares it again and
// every record arrives; without, that exchange's records are refused (no_exchange, dead letters)
// while the others keep flowing. Either way one channel is lost, not one per retry. An exchange
// the user may not write to (403) refuses its records the same way.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import { AmqpTransport } from '../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions, type AmqpOptions } from '../../src/sinks/amqp/options.js';
import { BufferedSink, bufferSchema, type BufferOptions } from '../../src/buffer/index.js';
import { schemaDefaults } from '../../src/sinks/shared/transport-options.js';
import type { OutboundMessage } from '../../src/record.js';
import { Metrics } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/ops/log.js';
import { AMQP_URL, collectAmqp, countingAmqpConnect, declareTestQueue, drainQueue, rabbitTestUser, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { metricValue } from '../helpers/gateway.js';
import { record, sleep, until } from '../helpers/records.js';

function numbered(n: number, exchange: string): OutboundMessage {
  const payload = `{"conn":{"n":${n}}}`;
  return { record: record('conn', payload, 'worker-1'), payload: Buffer.from(payload), address: { target: exchange, routingKey: 'conn' } };
}
const seq = (content: Buffer): number => Number(/"n":(\d+)/.exec(content.toString())?.[1]);

async function deleteExchange(name: string): Promise<void> {
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteExchange(name);
  } finally {
    await conn.close();
  }
}

const sinks: BufferedSink[] = [];

/** An amqp sink (the kind's defaults: 20 batches in flight) that counts the channels it opens. */
async function startSink(over: Partial<AmqpOptions>) {
  const counted = countingAmqpConnect();
  const o: AmqpOptions = { ...defaultAmqpOptions(), url: AMQP_URL, confirmTimeoutMs: 5000, ...over };
  const transport = new AmqpTransport(o, { name: uniqueName('refusals'), logger: silentLogger() }, counted.connect);
  const options: BufferOptions = { ...schemaDefaults<BufferOptions>(bufferSchema), maxInFlight: 20, retryInitialMs: 200, retryMaxMs: 2000 };
  const metrics = new Metrics();
  const rejected: string[] = [];
  const sink = new BufferedSink('rabbit', 'amqp', transport, options, {
    metrics,
    logger: silentLogger(),
    onRejected: (m, reason) => rejected.push(`${seq(m.payload)}:${reason}`),
  });
  sinks.push(sink);
  await sink.start();
  await until(() => sink.isConnected(), 10_000, 'connected');
  return { sink, metrics, rejected, channels: counted.channels };
}

describe('AMQP: an exchange deleted while the sink publishes to it', () => {
  before(async () => {
    await requireRabbitMQ();
  });
  after(async () => {
    await Promise.all(sinks.map((s) => s.close()));
  });

  it('with declareExchange, the sink declares it (and its queue binding) again: all of the next 100 records arrive, no channel storm', async () => {
    const exchange = uniqueName('gone-x');
    const queue = uniqueName('gone-q');
    const { sink, rejected, channels } = await startSink({
      declareExchange: { name: exchange, type: 'topic', durable: false },
      queue: { name: queue, durable: false, bindingKey: '#', exchange: '' },
    });
    for (let n = 0; n < 100; n++) sink.offer(numbered(n, exchange));
    await until(() => sink.records === 0, 10_000, 'the first 100 confirmed');
    const before = channels();
    await deleteExchange(exchange);
    for (let n = 100; n < 200; n++) sink.offer(numbered(n, exchange));
    await until(() => sink.records === 0, 15_000, 'the next 100 confirmed');
    await sleep(500);
    assert.deepEqual(rejected, []);
    const got = await collectAmqp(queue, { count: 200, timeoutMs: 10_000 });
    const first = [...new Set(got.map((m) => seq(m.content)))];
    assert.deepEqual(first, Array.from({ length: 200 }, (_, n) => n), 'every record, first copies in order');
    // The 404 costs the confirm channel; then one channel to declare again and a new confirm channel.
    assert.ok(channels() - before <= 4, `${channels() - before} channels opened after the deletion`);
  });

  it('without declareExchange, its records are refused (no_exchange, counted), the other exchange keeps flowing, no channel storm', async () => {
    const kept = uniqueName('kept-x');
    const gone = uniqueName('gone-x');
    const keptQueue = await declareTestQueue(kept, '#', { durable: false });
    const goneQueue = await declareTestQueue(gone, '#', { durable: false });
    const { sink, rejected, metrics, channels } = await startSink({});
    for (let n = 0; n < 100; n++) sink.offer(numbered(n, n % 2 === 0 ? kept : gone));
    await until(() => sink.records === 0, 10_000, 'the first 100 confirmed');
    const before = channels();
    await deleteExchange(gone);
    for (let n = 100; n < 200; n++) sink.offer(numbered(n, n % 2 === 0 ? kept : gone));
    await until(() => sink.records === 0, 15_000, 'the next 100 settled');
    await sleep(500);
    const odd = Array.from({ length: 50 }, (_, i) => 101 + 2 * i);
    assert.deepEqual(rejected, odd.map((n) => `${n}:no_exchange`));
    assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'no_exchange' }), 50);
    const got = await drainQueue(keptQueue);
    const first = [...new Set(got.map((m) => seq(m.content)))];
    assert.deepEqual(first, Array.from({ length: 100 }, (_, i) => 2 * i), 'every record of the kept exchange, in order');
    assert.ok(channels() - before <= 4, `${channels() - before} channels opened after the deletion`);
    void goneQueue;
  });

  it('403: the records of an exchange the user may not write to are refused (access_refused), the others delivered, no channel storm', async () => {
    const open = uniqueName('open-x');
    const closed = uniqueName('closed-x');
    const openQueue = await declareTestQueue(open, '#', { durable: false });
    await declareTestQueue(closed, '#', { durable: false });
    const user = await rabbitTestUser(`^${open}$`);
    try {
      const { sink, rejected, metrics, channels } = await startSink({ url: user.url });
      const before = channels();
      for (let n = 0; n < 200; n++) sink.offer(numbered(n, n % 2 === 0 ? open : closed));
      await until(() => sink.records === 0, 15_000, 'records settled');
      assert.deepEqual(rejected, Array.from({ length: 100 }, (_, i) => `${2 * i + 1}:access_refused`));
      assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'access_refused' }), 100);
      const got = await drainQueue(openQueue);
      assert.deepEqual([...new Set(got.map((m) => seq(m.content)))], Array.from({ length: 100 }, (_, i) => 2 * i));
      assert.ok(channels() - before <= 3, `${channels() - before} channels opened`);
    } finally {
      await user.remove();
    }
  });
});
