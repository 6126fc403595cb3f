// A clean stop says nothing alarming: no "connection is down" warning, no error, with either Kafka client.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaClient } from '../../src/sinks/kafka/options.js';
import { KAFKA_BROKERS, collectKafka, createKafkaTopics, requireKafka, uniqueName } from '../helpers/brokers.js';
import { withGateway } from '../helpers/gateway.js';
import { captureLogger } from '../helpers/log.js';
import { loadCapture } from '../helpers/testdata.js';

before(() => requireKafka());

for (const client of ['platformatic', 'kafkajs'] as KafkaClient[]) describe(`stopping a gateway with a Kafka sink (${client})`, () => {
  it('logs no warning or error when it stops cleanly after delivering', async () => {
    const topic = uniqueName(`stop-${client}`);
    await createKafkaTopics([topic]);
    const { logger, lines } = captureLogger();
    const config = {
      sinks: { k: { type: 'kafka', client, brokers: KAFKA_BROKERS, topic } },
      routing: { routes: [{ match: ['*'], destinations: [{ sink: 'k' }] }] },
    };
    await withGateway(
      config,
      async (gw) => {
        const capture = loadCapture('ncsa', 'wikipedia.jsonl');
        const pub = await gw.publisher();
        for (const m of capture) await pub.send(m);
        await collectKafka(topic, { count: capture.length, timeoutMs: 30_000 });
        assert.equal(await gw.stop(), 0, 'nothing left undelivered');
      },
      { logger },
    );
    assert.ok(lines.some((l) => l.msg === 'Kafka connection is up'), 'the capture holds the sink log');
    const alarms = lines.filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal');
    assert.deepEqual(alarms.map((l) => `${l.level}: ${l.msg}`), []);
  });
});
