// Proves the local brokers' listeners and the test/helpers/brokers.ts helpers work, including the
// fault-test controls. Needs `bash scripts/brokers.sh up`; fails (never skips) without it.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import {
  AMQPS_URL,
  amqpEndpoint,
  collectAmqp,
  collectKafka,
  createKafkaTopics,
  declareTestQueue,
  kafkaEndpoint,
  kafkaKill,
  kafkaStart,
  produceKafka,
  publishAmqp,
  rabbitCloseConnections,
  rabbitStartApp,
  rabbitStopApp,
  requireKafka,
  requireRabbitMQ,
  tlsOptions,
  uniqueName,
  type AmqpEndpoint,
  type KafkaEndpoint,
} from '../helpers/brokers.js';

const EXCHANGE = 'zlg-test-exchange';

describe('RabbitMQ', { timeout: 120_000 }, () => {
  before(() => requireRabbitMQ());

  for (const endpoint of ['plain', 'tls', 'tls-client-cert'] as AmqpEndpoint[]) {
    test(`publish and consume over ${endpoint}`, async () => {
      const key = uniqueName('rk');
      const queue = await declareTestQueue(EXCHANGE, key);
      await publishAmqp(EXCHANGE, key, ['one', 'two'], { headers: { zeek_path: 'conn' }, contentType: 'application/json' }, endpoint);
      const got = await collectAmqp(queue, { count: 2, endpoint });
      assert.deepEqual(got.map((m) => m.content.toString()), ['one', 'two']);
      assert.equal(got[0]!.headers.zeek_path, 'conn');
      assert.equal(got[0]!.properties.contentType, 'application/json');
      assert.equal(got[0]!.routingKey, key);
      assert.equal(got[0]!.exchange, EXCHANGE);
    });
  }

  test('AMQPS rejects a client that does not trust the test CA', async () => {
    await assert.rejects(amqp.connect(AMQPS_URL, { timeout: 5000 }), /certificate/i);
  });

  test('collectAmqp leaves messages beyond count in the queue, and without count returns what arrived', async () => {
    const queue = await declareTestQueue('', '');
    await publishAmqp('', queue, ['a', 'b', 'c']);
    assert.deepEqual((await collectAmqp(queue, { count: 1 })).map((m) => m.content.toString()), ['a']);
    assert.deepEqual((await collectAmqp(queue, { timeoutMs: 500 })).map((m) => m.content.toString()), ['b', 'c']);
    assert.deepEqual(await collectAmqp(queue, { timeoutMs: 300 }), []);
    await assert.rejects(collectAmqp(queue, { count: 1, timeoutMs: 300 }), /expected 1 message\(s\) .* got 0/);
    await assert.rejects(collectAmqp(uniqueName('missing'), { count: 1 }), /NOT_FOUND/);
  });

  test('stop-app and start-app: connections drop, a durable queue and persistent messages survive', async () => {
    const queue = await declareTestQueue(EXCHANGE, 'outage');
    await publishAmqp(EXCHANGE, 'outage', ['before'], { persistent: true });
    const { url, socketOptions } = amqpEndpoint('plain');
    const conn = await amqp.connect(url, socketOptions);
    const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
    conn.on('error', () => undefined);
    await rabbitStopApp();
    try {
      await closed;
      await assert.rejects(amqp.connect(url, { timeout: 2000 }));
    } finally {
      await rabbitStartApp(); // other test files need the broker back even if this one fails
    }
    await requireRabbitMQ();
    await publishAmqp(EXCHANGE, 'outage', ['after'], { persistent: true });
    const got = await collectAmqp(queue, { count: 2 });
    assert.deepEqual(got.map((m) => m.content.toString()), ['before', 'after']);
  });

  test('close-connections drops open client connections', async () => {
    const conn = await amqp.connect(amqpEndpoint('plain').url);
    const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
    conn.on('error', () => undefined);
    await rabbitCloseConnections();
    const err = await closed;
    assert.match(String(err), /CONNECTION_FORCED|closed by scripts/);
  });
});

describe('Kafka', { timeout: 180_000 }, () => {
  before(() => requireKafka());

  const endpoints: KafkaEndpoint[] = [
    'plaintext',
    'ssl',
    'ssl-client-cert',
    'sasl-plain',
    'sasl-scram-sha-256',
    'sasl-scram-sha-512',
  ];
  for (const endpoint of endpoints) {
    test(`produce and consume over ${endpoint}`, async () => {
      const topic = uniqueName(endpoint);
      const config = kafkaEndpoint(endpoint);
      await produceKafka(topic, [{ key: 'k1', value: 'v1', headers: { zeek_path: 'dns' } }, { key: null, value: 'v2' }], config);
      const got = await collectKafka(topic, { count: 2, config });
      assert.deepEqual(got.map((r) => r.value?.toString()), ['v1', 'v2']);
      assert.equal(got[0]!.key?.toString(), 'k1');
      assert.equal(got[1]!.key, null);
      assert.equal(got[0]!.headers.zeek_path?.toString(), 'dns');
      assert.deepEqual(got.map((r) => [r.partition, r.offset]), [[0, '0'], [0, '1']]);
    });
  }

  test('SASL rejects a wrong password', async () => {
    const config = kafkaEndpoint('sasl-scram-sha-256');
    const sasl = { mechanism: 'scram-sha-256' as const, username: 'zlg', password: 'wrong' };
    await assert.rejects(produceKafka(uniqueName('badauth'), [{ value: 'x' }], { ...config, sasl, retry: { retries: 0 } }), /SASL|authentic/i);
  });

  test('SSL rejects a client that does not trust the test CA', async () => {
    const config = { ...kafkaEndpoint('ssl'), ssl: true, retry: { retries: 0 } };
    await assert.rejects(produceKafka(uniqueName('badca'), [{ value: 'x' }], config), /certificate/i);
  });

  test('collectKafka: fromBeginning false starts at the end; a missing record fails after timeoutMs', async () => {
    const topic = uniqueName('latest');
    await createKafkaTopics([topic]);
    await produceKafka(topic, [{ value: 'old' }]);
    const pending = collectKafka(topic, { count: 1, fromBeginning: false, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 3000)); // let the group join before producing
    await produceKafka(topic, [{ value: 'new' }]);
    assert.deepEqual((await pending).map((r) => r.value?.toString()), ['new']);
    await assert.rejects(collectKafka(uniqueName('empty'), { count: 1, timeoutMs: 1500 }), /expected 1 record\(s\) .* got 0/);
    assert.deepEqual(await collectKafka(uniqueName('empty'), { timeoutMs: 1500 }), []);
  });

  test('kill and start: the broker comes back with its data', async () => {
    const topic = uniqueName('restart');
    await produceKafka(topic, [{ value: 'before' }]);
    await kafkaKill();
    try {
      await assert.rejects(requireKafka(), /scripts\/brokers\.sh up kafka/);
    } finally {
      await kafkaStart(); // other test files need the broker back even if this one fails
    }
    await requireKafka();
    await produceKafka(topic, [{ value: 'after' }]);
    const got = await collectKafka(topic, { count: 2 });
    assert.deepEqual(got.map((r) => r.value?.toString()), ['before', 'after']);
  });
});

test('tlsOptions reads the test CA and client certificate', () => {
  const o = tlsOptions(true);
  assert.match(o.ca[0]!.toString(), /BEGIN CERTIFICATE/);
  assert.match(o.cert!.toString(), /BEGIN CERTIFICATE/);
  assert.match(o.key!.toString(), /PRIVATE KEY/);
});
