// One record whose rendered address the broker cannot take (an AMQP routing key over 255 bytes,
// an illegal Kafka topic) is refused on its own, counted and dead-lettered; the good records
// around it keep flowing, against the real brokers.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AMQP_URL,
  KAFKA_BROKERS,
  collectAmqp,
  collectKafka,
  declareTestQueue,
  requireKafka,
  requireRabbitMQ,
  uniqueName,
} from '../helpers/brokers.js';
import { eventually, metricValue, withGateway } from '../helpers/gateway.js';
import { Wire, logWriteFrames } from '../unit/zeek/binary/encode.js';

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

const record = (seq: number): Buffer => Buffer.from(`{"ts":1700000000.${String(seq).padStart(6, '0')},"seq":${seq}}`);

test('an AMQP routing key over 255 bytes refuses that record only; the next 100 good records arrive in order', async () => {
  const exchange = `zlg-${uniqueName('addr')}`;
  const good = await declareTestQueue(exchange, 'zeek.logs.conn');
  const dead = await declareTestQueue(exchange, 'dead-letter');
  const config = {
    sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, routingKey: 'zeek.logs.{path}', declareExchange: { name: exchange } } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbit' }] }] },
    deadLetter: { sink: 'rabbit', routingKey: 'dead-letter', ingressRejects: false },
  };
  await withGateway(config, async (gw) => {
    // A legal 250-byte Zeek path: its routing key `zeek.logs.<path>` has 260 bytes.
    const longPath = 'x'.repeat(250);
    const pub = await gw.publisher();
    await pub.send([Buffer.from('conn'), record(0)]);
    await pub.send([Buffer.from(longPath), record(1)]);
    for (let i = 2; i < 102; i++) await pub.send([Buffer.from('conn'), record(i)]);

    const got = await collectAmqp(good, { count: 101, timeoutMs: 15_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      [0, ...Array.from({ length: 100 }, (_, i) => i + 2)].map((i) => `{"conn":${record(i).toString()}}`),
    );
    const [letter] = await collectAmqp(dead, { count: 1 });
    assert.equal(letter!.headers['zeek-dead-letter-reason'], 'invalid_address');
    assert.equal(letter!.content.toString(), `{${JSON.stringify(longPath)}:${record(1).toString()}}`);
    await eventually(
      async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'rabbit', reason: 'invalid_address' })) === 1,
      5000,
      'invalid_address drop counted',
    );
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_retries_total'), 0, 'nothing was retried');
    assert.equal(gw.gateway.sinks.get('rabbit')!.records, 0, 'nothing is held');
  });
});

test('an AMQP exchange name over 255 bytes refuses the records of that path only', async () => {
  const exchange = `zlg-${uniqueName('addrx')}`;
  const good = await declareTestQueue(exchange, 'dns');
  const config = {
    sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } } },
    routing: {
      routes: [
        { match: ['dns'], destinations: [{ sink: 'rabbit' }] },
        // Each path its own exchange: a long path makes an exchange name RabbitMQ cannot take.
        { match: ['*'], exchange: '{path}-exchange-with-a-long-suffix', destinations: [{ sink: 'rabbit' }] },
      ],
    },
  };
  await withGateway(config, async (gw) => {
    const pub = await gw.publisher();
    for (let i = 0; i < 50; i++) {
      await pub.send([Buffer.from('dns'), record(i)]);
      if (i % 10 === 0) await pub.send([Buffer.from('y'.repeat(240)), record(1000 + i)]);
    }
    const got = await collectAmqp(good, { count: 50, timeoutMs: 15_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      Array.from({ length: 50 }, (_, i) => `{"dns":${record(i).toString()}}`),
    );
    await eventually(
      async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'rabbit', reason: 'invalid_address' })) === 5,
      5000,
      'invalid_address drops counted',
    );
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_retries_total'), 0, 'nothing was retried');
  });
});

for (const client of ['platformatic', 'kafkajs'] as const) {
  test(`${client}: records whose topic Kafka cannot take (".", "..", too long, illegal characters) are refused; the others arrive in order`, async () => {
    const id = uniqueName(`addr-${client}`);
    const config = {
      sinks: { kafka: { type: 'kafka', client, brokers: KAFKA_BROKERS, topic: '{path}', allowAutoTopicCreation: true } },
      routing: { routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
      deadLetter: { sink: 'kafka', topic: `${id}-dead`, ingressRejects: false },
    };
    await withGateway(config, async (gw) => {
      const bad = ['.', '..', 'z'.repeat(250), 'conn/x'];
      const pub = await gw.publisher();
      for (let i = 0; i < 100; i++) {
        await pub.send([Buffer.from(id), record(i)]);
        if (i % 25 === 0) await pub.send([Buffer.from(bad[i / 25]!), record(1000 + i)]);
      }
      const got = await collectKafka(id, { count: 100, timeoutMs: 30_000 });
      assert.deepEqual(
        got.map((r) => r.value!.toString()),
        Array.from({ length: 100 }, (_, i) => `{${JSON.stringify(id)}:${record(i).toString()}}`),
      );
      const dead = await collectKafka(`${id}-dead`, { count: 4, timeoutMs: 30_000 });
      assert.deepEqual(
        dead.map((r) => String(r.headers['zeek-dead-letter-reason'])),
        ['invalid_address', 'invalid_address', 'invalid_address', 'invalid_address'],
      );
      await eventually(
        async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'kafka', reason: 'invalid_address' })) === 4,
        5000,
        'invalid_address drops counted',
      );
      assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_retries_total'), 0, 'nothing was retried');
    });
  });
}

test('a cluster batch whose path is over 255 bytes is rejected at the PULL ingress and dead-lettered; the batches after it arrive', async () => {
  const exchange = `zlg-${uniqueName('addrp')}`;
  const good = await declareTestQueue(exchange, 'conn');
  const dead = await declareTestQueue(exchange, 'dead-letter');
  const config = {
    sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbit' }] }] },
    deadLetter: { sink: 'rabbit', routingKey: 'dead-letter' },
  };
  const batch = (path: string, first: number): Buffer[] => {
    const w = new Wire().header(path).u32(1).field('seq', 3).u32(10);
    for (let i = 0; i < 10; i++) w.count(BigInt(first + i));
    return logWriteFrames(w.build());
  };
  await withGateway(config, async (gw) => {
    const push = gw.push();
    await push.send(batch('conn', 0));
    // Before: routed with a 300-byte routing key, it held every later batch back for good.
    await push.send(batch('x'.repeat(300), 1000));
    for (let b = 1; b <= 10; b++) await push.send(batch('conn', b * 10));
    const got = await collectAmqp(good, { count: 110, timeoutMs: 15_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      Array.from({ length: 110 }, (_, i) => `{"conn":{"seq":${i}}}`),
    );
    const [letter] = await collectAmqp(dead, { count: 1 });
    assert.equal(letter!.headers['zeek-dead-letter-reason'], 'path-too-long');
    assert.equal(letter!.headers['zeek-dead-letter-source'], 'ingress:pull');
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_ingress_rejected_total', { ingress: 'pull', reason: 'path-too-long' }), 1);
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_retries_total'), 0, 'nothing was retried');
  }, { ingress: 'pull' });
});
