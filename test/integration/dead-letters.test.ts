// Dead letters: records a real broker refuses, and bad ingress messages, go to a dead-letter queue with the reason.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AMQP_URL,
  KAFKA_BROKERS,
  collectAmqp,
  collectKafka,
  declareTestQueue,
  kafkaClient,
  requireKafka,
  requireRabbitMQ,
  uniqueName,
} from '../helpers/brokers.js';
import { eventually, metricValue, withGateway } from '../helpers/gateway.js';
import { loadCapture } from '../helpers/testdata.js';

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

test('unroutable AMQP records, oversized Kafka records and bad ingress messages become dead letters with their reason', async () => {
  const id = uniqueName('dl');
  const exchange = `zlg-${id}`;
  const connQueue = await declareTestQueue(exchange, 'conn');
  const deadQueue = await declareTestQueue(exchange, 'dead-letter.#');
  // A topic that refuses records over 2000 bytes: the broker answers MESSAGE_TOO_LARGE.
  const smallTopic = `${id}-small`;
  const admin = kafkaClient().admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: smallTopic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] }],
  });
  await admin.disconnect();

  const config = {
    sinks: {
      rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange }, mandatory: true },
      kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic: smallTopic, retry: { retries: 1 } },
    },
    routing: {
      routes: [
        { match: ['conn', 'dns'], destinations: [{ sink: 'rabbit' }] },
        { match: ['http'], envelope: 'raw', destinations: [{ sink: 'kafka' }] },
      ],
    },
    deadLetter: { sink: 'rabbit', routingKey: 'dead-letter.{path}' },
  };
  await withGateway(config, async (gw) => {
    const capture = loadCapture('ncsa', 'wikipedia.jsonl');
    // Two real http records padded past the topic's limit.
    const padded = capture
      .filter((m) => m[0]!.toString() === 'http')
      .slice(0, 2)
      .map((m) => [m[0]!, Buffer.from(m[1]!.toString().replace('"uri":"', `"uri":"/${'x'.repeat(3000)}`))]);
    const wiki = [...capture, ...padded];
    const pub = await gw.publisher();
    for (const m of wiki) await pub.send(m);
    await pub.send([Buffer.from('conn'), Buffer.from('{"truncated":')]);

    const conns = wiki.filter((m) => m[0]!.toString() === 'conn');
    const dns = wiki.filter((m) => m[0]!.toString() === 'dns');
    const http = wiki.filter((m) => m[0]!.toString() === 'http');
    const small = http.filter((m) => m[1]!.length < 1000);
    const large = http.filter((m) => m[1]!.length > 3000);
    assert.deepEqual([small.length, large.length], [14, 2]);

    assert.equal((await collectAmqp(connQueue, { count: conns.length })).length, conns.length);
    const kafka = await collectKafka(smallTopic, { count: small.length, timeoutMs: 20_000 });
    assert.deepEqual(kafka.map((r) => r.value!.toString()).sort(), small.map((m) => m[1]!.toString()).sort());

    const expectedDead = dns.length + large.length + 1;
    const dead = await collectAmqp(deadQueue, { count: expectedDead, timeoutMs: 30_000 });
    const byReason = new Map<string, typeof dead>();
    for (const d of dead) {
      const reason = String(d.headers['zeek-dead-letter-reason']);
      byReason.set(reason, [...(byReason.get(reason) ?? []), d]);
    }
    // dns had no queue bound: returned by RabbitMQ, kept tagged as it was published.
    const unroutable = byReason.get('unroutable') ?? [];
    assert.deepEqual(
      unroutable.map((d) => d.content.toString()),
      dns.map((m) => `{"dns":${m[1]!.toString()}}`),
    );
    assert.ok(unroutable.every((d) => d.headers['zeek-dead-letter-source'] === 'sink:rabbit' && d.routingKey === 'dead-letter.dns'));
    // Oversized http records: refused by Kafka for good, the rest of the batch delivered.
    const tooLarge = byReason.get('message_too_large') ?? [];
    assert.deepEqual(tooLarge.map((d) => d.content.toString()).sort(), large.map((m) => m[1]!.toString()).sort());
    assert.ok(tooLarge.every((d) => d.headers['zeek-dead-letter-source'] === 'sink:kafka'));
    // The bad ingress message, with its frames.
    const rejected = byReason.get('body-not-object') ?? [];
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]!.routingKey, 'dead-letter._rejected');
    const body = JSON.parse(rejected[0]!.content.toString()) as { ingress: string; frames: string[]; truncated: boolean };
    assert.equal(body.ingress, 'sub');
    assert.deepEqual(body.frames.map((f) => Buffer.from(f, 'base64').toString()), ['conn', '{"truncated":']);

    await eventually(
      async () => (await metricValue(gw.metrics, 'zeek_gateway_dead_letters_total')) === expectedDead,
      5000,
      'dead-letter metric',
    );
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'rabbit', reason: 'unroutable' }), dns.length);
  });
});
