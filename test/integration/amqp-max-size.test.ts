// 406 PRECONDITION_FAILED against the real RabbitMQ: a broker whose max_message_size is below
// some records (an operator's limit, Zeek records of a few kB) closes the channel over the first
// such publish. The sink then refuses those records for good (message_too_large, counted, one
// callback each), delivers the others in order, and does not open a channel per retry.
// Changes the broker's node-wide max_message_size for the duration: run it under the broker
// lock taken exclusively (flock -x /work/coord/brokers.lock ...).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AmqpTransport } from '../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions } from '../../src/sinks/amqp/options.js';
import { BufferedSink, bufferSchema, type BufferOptions } from '../../src/buffer/index.js';
import { schemaDefaults } from '../../src/sinks/shared/transport-options.js';
import type { OutboundMessage } from '../../src/record.js';
import { Metrics } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/ops/log.js';
import { AMQP_URL, countingAmqpConnect, declareTestQueue, drainQueue, rabbitMaxMessageSize, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { metricValue } from '../helpers/gateway.js';
import { record, sleep, until } from '../helpers/records.js';

const MAX = 4096;

function numbered(n: number, exchange: string, size: number): OutboundMessage {
  const payload = `{"conn":{"n":${n},"pad":"${'z'.repeat(size)}"}}`;
  return { record: record('conn', payload, 'worker-1'), payload: Buffer.from(payload), address: { target: exchange, routingKey: 'conn' } };
}
const seq = (content: Buffer): number => Number(/"n":(\d+)/.exec(content.toString())?.[1]);

describe('AMQP: records over the broker max_message_size (406)', () => {
  let limit: { restore(): Promise<void> } | undefined;
  let sink: BufferedSink | undefined;
  before(async () => {
    await requireRabbitMQ();
    limit = await rabbitMaxMessageSize(MAX);
  });
  after(async () => {
    await sink?.close();
    await limit?.restore();
  });

  it('refuses the large records for good (message_too_large), delivers the others in order, no channel storm', async () => {
    const exchange = uniqueName('size-x');
    const queue = await declareTestQueue(exchange, '#', { durable: false });
    const counted = countingAmqpConnect();
    const o = { ...defaultAmqpOptions(), url: AMQP_URL, confirmTimeoutMs: 5000 };
    const transport = new AmqpTransport(o, { name: uniqueName('max-size'), logger: silentLogger() }, counted.connect);
    const options: BufferOptions = { ...schemaDefaults<BufferOptions>(bufferSchema), maxInFlight: 20, batchMaxRecords: 50, retryInitialMs: 200, retryMaxMs: 2000 };
    const metrics = new Metrics();
    const rejected: string[] = [];
    sink = new BufferedSink('rabbit', 'amqp', transport, options, {
      metrics,
      logger: silentLogger(),
      onRejected: (m, reason) => rejected.push(`${seq(m.payload)}:${reason}`),
    });
    await sink.start();
    await until(() => sink!.isConnected(), 10_000, 'connected');
    const before = counted.channels();
    // Every tenth record is larger than the broker takes; 300 records in 6 batches, sent at once.
    const large = (n: number): boolean => n % 10 === 3;
    for (let n = 0; n < 300; n++) sink.offer(numbered(n, exchange, large(n) ? 2 * MAX : 100));
    await until(() => sink!.records === 0, 20_000, 'every record settled');
    await sleep(500);
    const expectedRefused = Array.from({ length: 300 }, (_, n) => n).filter(large);
    assert.deepEqual(rejected, expectedRefused.map((n) => `${n}:message_too_large`));
    assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { reason: 'message_too_large' }), 30);
    const got = await drainQueue(queue);
    const first = [...new Set(got.map((m) => seq(m.content)))];
    assert.deepEqual(first, Array.from({ length: 300 }, (_, n) => n).filter((n) => !large(n)), 'every other record, first copies in order');
    // The first large record costs the confirm channel; the sink learns the limit from the 406 and refuses the rest itself.
    assert.ok(counted.channels() - before <= 3, `${counted.channels() - before} channels opened`);
  });
});
