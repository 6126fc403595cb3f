// A Kafka topic that does not exist, with topic auto-creation off (the producer's setting: the test
// broker would auto-create): its records wait a bounded time, then are refused (unknown_topic, dead
// letters) while every other topic of the sink keeps flowing. Both clients, against the real broker.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { KafkaClient } from '../../src/sinks/kafka/options.js';
import { KAFKA_BROKERS, collectKafka, createKafkaTopics, requireKafka, uniqueName } from '../helpers/brokers.js';
import { eventually } from '../helpers/wait.js';
import { metricValue, startFixture, type GatewayFixture, type Sender } from '../helpers/gateway.js';
import { captureLogger, type LogLine } from '../helpers/log.js';
import { loadCapture } from '../helpers/testdata.js';

/** Real NCSA messages: conn, dns and http records of one capture, in Zeek's order. */
const capture = loadCapture('ncsa', 'wikipedia.jsonl').filter((m) => ['conn', 'dns', 'http'].includes(m[0]!.toString()));
const ofPath = (messages: Buffer[][], path: string): string[] => messages.filter((m) => m[0]!.toString() === path).map((m) => m[1]!.toString());

const values = (records: Array<{ value: Buffer | null }>): string[] => records.map((r) => r.value!.toString());

/** A gateway whose one kafka sink writes each path to `<id>-<path>`, dead letters to `<id>-dead`. */
function gateway(client: KafkaClient, id: string, unknownTopicWaitMs: number, logger?: Logger): Promise<GatewayFixture> {
  return startFixture({
    sinks: {
      k: {
        type: 'kafka',
        client,
        brokers: KAFKA_BROKERS,
        topic: `${id}-{path}`,
        allowAutoTopicCreation: false,
        unknownTopicWaitMs,
        retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 500 },
      },
    },
    routing: { routes: [{ match: ['conn', 'dns', 'http'], envelope: 'raw', destinations: [{ sink: 'k' }] }] },
    deadLetter: { sink: 'k', topic: `${id}-dead` },
  }, logger ? { logger } : {});
}

async function publish(pub: Sender, messages: Buffer[][]): Promise<void> {
  for (const m of messages) await pub.send(m);
}

before(() => requireKafka());

for (const client of ['platformatic', 'kafkajs'] as KafkaClient[]) describe(`Kafka sink with a topic that does not exist (${client})`, () => {
  it('delivers the other topics in order, refuses the missing topic after the wait into dead letters, and delivers it once created', async () => {
    const id = uniqueName(`unknown-${client}`);
    await createKafkaTopics([`${id}-conn`, `${id}-http`, `${id}-dead`]);
    const gw = await gateway(client, id, 3_000);
    try {
      const pub = await gw.publisher();
      // The capture three times: 102 conn records, 42 http, and 102 dns records for the missing topic.
      const sent = [...capture, ...capture, ...capture];
      const t0 = Date.now();
      await publish(pub, sent);
      const conn = await collectKafka(`${id}-conn`, { count: 102, timeoutMs: 30_000 });
      assert.deepEqual(values(conn), ofPath(sent, 'conn'), 'every conn record, in order');
      const http = await collectKafka(`${id}-http`, { count: 42, timeoutMs: 30_000 });
      assert.deepEqual(values(http), ofPath(sent, 'http'));

      const dead = await collectKafka(`${id}-dead`, { count: 102, timeoutMs: 30_000 });
      const tookMs = Date.now() - t0;
      assert.deepEqual(values(dead), ofPath(sent, 'dns'), 'the dns records are dead letters, in order');
      for (const d of dead) {
        assert.equal(d.headers['zeek-dead-letter-reason']?.toString(), 'unknown_topic');
        assert.equal(d.headers['zeek-path']?.toString(), 'dns');
      }
      assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'k', reason: 'unknown_topic' }), 102);
      assert.ok(tookMs < 20_000, `refused after a bounded wait (${tookMs} ms)`);

      // Created later, the topic starts flowing (a refused topic is looked up again every 5 s).
      await createKafkaTopics([`${id}-dns`]);
      await new Promise((r) => setTimeout(r, 5_500));
      await publish(pub, capture);
      const dns = await collectKafka(`${id}-dns`, { count: 34, timeoutMs: 30_000 });
      assert.deepEqual(values(dns), ofPath(capture, 'dns'));
      assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'k', reason: 'unknown_topic' }), 102);
    } finally {
      await gw.stop();
    }
  });

  it('a new missing topic does not hold the other topics during its wait; later records of it are refused at once', async () => {
    const id = uniqueName(`hold-${client}`);
    await createKafkaTopics([`${id}-conn`, `${id}-dead`]);
    const gw = await gateway(client, id, 8_000);
    try {
      const pub = await gw.publisher();
      const dns = capture.filter((m) => m[0]!.toString() === 'dns');
      const conn = capture.filter((m) => m[0]!.toString() === 'conn');
      // Timed by the sink's own count of acknowledged conn records (no consumer start in the measure).
      const connAcked = (count: number) => async (): Promise<number> => {
        const t0 = Date.now();
        await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_acknowledged_total', { sink: 'k', path: 'conn' })) >= count, 30_000, `${count} conn records acknowledged`);
        return Date.now() - t0;
      };
      // One dns record first, alone in its batch (buffer.maxInFlight is 1): that batch waits for
      // the dns topic, and the conn batches behind it go meanwhile.
      await pub.send(dns[0]!);
      await new Promise((r) => setTimeout(r, 300));
      await publish(pub, conn);
      const held = await connAcked(conn.length)();
      assert.ok(held < 3_000, `conn held ${held} ms behind an 8 s wait for another topic`);
      // dns records arriving during the wait join it; once it ran out, all are refused.
      await publish(pub, dns.slice(1));
      await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'k', reason: 'unknown_topic' })) === dns.length, 20_000, 'every dns record refused after the wait');
      // The topic is refused now: the next dns records do not hold conn either.
      await publish(pub, [...dns.slice(1), ...conn]);
      const again = await connAcked(2 * conn.length)();
      assert.ok(again < 2_500, `conn took ${again} ms behind a refused topic`);
      assert.equal((await collectKafka(`${id}-conn`, { count: 2 * conn.length, timeoutMs: 30_000 })).length, 2 * conn.length);
      await collectKafka(`${id}-dead`, { count: 2 * dns.length - 1, timeoutMs: 15_000 });
      assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'k', reason: 'unknown_topic' }), 2 * dns.length - 1);
    } finally {
      await gw.stop();
    }
  });

  it('delivers the records of a topic created during the wait, refusing none', async () => {
    const id = uniqueName(`late-${client}`);
    await createKafkaTopics([`${id}-conn`, `${id}-http`, `${id}-dead`]);
    const { logger, lines } = captureLogger();
    const gw = await gateway(client, id, 20_000, logger);
    try {
      await publish(await gw.publisher(), capture);
      // The topic is created once the sink found it missing and waits for it; the dns records of
      // every batch behind join that wait and go in their order once it exists.
      const waiting = (l: LogLine): boolean => l.msg.startsWith('Kafka topic does not exist: its records wait for it') && l.topic === `${id}-dns`;
      await eventually(() => lines.some(waiting), 15_000, 'the sink waiting for the dns topic');
      await createKafkaTopics([`${id}-dns`]);
      // Well within the 20 s wait: delivered when the topic appeared, not refused when the wait ran out.
      const dns = await collectKafka(`${id}-dns`, { count: 34, timeoutMs: 15_000 });
      assert.deepEqual(values(dns), ofPath(capture, 'dns'));
      const conn = await collectKafka(`${id}-conn`, { count: 34, timeoutMs: 30_000 });
      assert.deepEqual(values(conn), ofPath(capture, 'conn'));
      const http = await collectKafka(`${id}-http`, { count: 14, timeoutMs: 30_000 });
      assert.deepEqual(values(http), ofPath(capture, 'http'));
      assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'k', reason: 'unknown_topic' }), 0);
      assert.ok(!lines.some((l) => l.level === 'error'), 'nothing refused or failed');
    } finally {
      await gw.stop();
    }
  });
});
