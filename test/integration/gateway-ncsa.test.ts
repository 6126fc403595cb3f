// End to end: real NCSA captures → gateway SUB ingress → routing → real RabbitMQ and Kafka.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AMQP_URL,
  KAFKA_BROKERS,
  collectAmqp,
  collectKafka,
  declareTestQueue,
  rabbitStartApp,
  rabbitStopApp,
  requireKafka,
  requireRabbitMQ,
  uniqueName,
} from '../helpers/brokers.js';
import { eventually, metricValue, startFixture, withGateway } from '../helpers/gateway.js';
import { numbered, seqOf } from '../helpers/load.js';
import { loadCapture, PCAPS } from '../helpers/testdata.js';

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

const captures = PCAPS.map((p) => loadCapture('ncsa', `${p}.jsonl`));
const all = captures.flat();
const path = (frames: Buffer[]): string => frames[0]!.toString();
const byPath = (messages: Buffer[][]): Map<string, Buffer[]> => {
  const out = new Map<string, Buffer[]>();
  for (const m of messages) out.set(path(m), [...(out.get(path(m)) ?? []), m[1]!]);
  return out;
};
const tagged = (p: string, body: Buffer): string => `{${JSON.stringify(p)}:${body.toString()}}`;

test('every real record lands where its route says, tagged, bytes unchanged, in order per path', async () => {
  const id = uniqueName('ncsa');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, '#');
  const gw = await startFixture({
    sinks: {
      rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } },
      kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic: `${id}-{path}` },
    },
    routing: {
      exclude: ['packet_filter'],
      routes: [
        { name: 'conn-dns', match: ['conn', 'dns'], destinations: [{ sink: 'rabbit' }, { sink: 'kafka' }] },
        { name: 'http-raw', match: ['http*'], envelope: 'raw', keyField: 'uid', destinations: [{ sink: 'kafka' }] },
      ],
      defaultRoute: { destinations: [{ sink: 'rabbit', routingKey: 'other.{path}' }] },
    },
  });
  try {
    const pub = await gw.publisher();
    for (const m of all) await pub.send(m);

    const expected = byPath(all);
    const toRabbit = all.filter((m) => !['http', 'packet_filter'].includes(path(m)));
    const got = await collectAmqp(queue, { count: toRabbit.length, timeoutMs: 20_000 });
    // Per path, the queue holds exactly the sent records in order, each tagged.
    const rabbitByPath = new Map<string, string[]>();
    for (const m of got) {
      const p = String(m.headers['zeek-path']);
      rabbitByPath.set(p, [...(rabbitByPath.get(p) ?? []), m.content.toString()]);
      assert.equal(m.routingKey, ['conn', 'dns'].includes(p) ? p : `other.${p}`);
      assert.equal(m.properties.contentType, 'application/json');
      assert.equal(m.properties.deliveryMode, 2);
    }
    for (const [p, bodies] of expected) {
      if (p === 'http' || p === 'packet_filter') {
        assert.equal(rabbitByPath.has(p), false, `${p} must not reach RabbitMQ`);
        continue;
      }
      assert.deepEqual(rabbitByPath.get(p), bodies.map((b) => tagged(p, b)), `RabbitMQ ${p}`);
    }

    for (const p of ['conn', 'dns', 'http']) {
      const bodies = expected.get(p)!;
      const records = await collectKafka(`${id}-${p}`, { count: bodies.length, timeoutMs: 20_000 });
      const want = p === 'http' ? bodies.map((b) => b.toString()) : bodies.map((b) => tagged(p, b));
      assert.deepEqual(records.map((r) => r.value!.toString()), want, `Kafka ${p}`);
      assert.ok(records.every((r) => r.headers['zeek-path']?.toString() === p));
      if (p === 'http') {
        const uids = bodies.map((b) => (JSON.parse(b.toString()) as { uid: string }).uid);
        assert.deepEqual(records.map((r) => r.key?.toString()), uids, 'http records keyed by uid');
      } else assert.ok(records.every((r) => r.key === null));
    }

    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_records_received_total'), all.length);
    assert.equal(
      await metricValue(gw.metrics, 'zeek_gateway_records_unrouted_total', { path: 'packet_filter', reason: 'excluded' }),
      captures.length,
    );
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_ingress_rejected_total'), 0);
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});

test('include list (send_logs) and exclude list (excluded_log_ids) decide what is routed', async () => {
  const id = uniqueName('incl');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, '#');
  const config = {
    sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } } },
    routing: {
      include: ['conn', 'dns', 'http'],
      exclude: ['dns'],
      routes: [{ match: ['*'], destinations: [{ sink: 'rabbit' }] }],
    },
  };
  await withGateway(config, async (gw) => {
    const wiki = captures[PCAPS.indexOf('wikipedia')]!;
    const pub = await gw.publisher();
    for (const m of wiki) await pub.send(m);
    const want = wiki.filter((m) => ['conn', 'http'].includes(path(m)));
    const got = await collectAmqp(queue, { count: want.length, timeoutMs: 20_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()).sort(),
      want.map((m) => tagged(path(m), m[1]!)).sort(),
    );
    // Nothing else trickles in afterwards.
    assert.equal((await collectAmqp(queue, { timeoutMs: 500 })).length, 0);
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_records_unrouted_total', { path: 'dns', reason: 'excluded' }), 34);
    assert.equal(
      await metricValue(gw.metrics, 'zeek_gateway_records_unrouted_total', { path: 'packet_filter', reason: 'not-included' }),
      1,
    );
  });
});

/** A gateway routing everything to one RabbitMQ sink with the given buffer, and the queue to read. */
async function rabbitOnlyGateway(label: string, buffer: Record<string, unknown>) {
  const id = uniqueName(label);
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, '#');
  const gw = await startFixture({
    sinks: {
      rabbit: {
        type: 'amqp',
        url: AMQP_URL,
        exchange,
        declareExchange: { name: exchange },
        reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
        buffer: { retryInitialMs: 100, retryMaxMs: 1000, ...buffer },
      },
    },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbit' }] }] },
  });
  return { gw, queue };
}

test('block: RabbitMQ stopped mid-stream, nothing lost once it is back, order kept', async () => {
  const { gw, queue } = await rabbitOnlyGateway('block', { whenFull: 'block', maxRecords: 200 });
  const messages = numbered(3000);
  try {
    const pub = await gw.publisher();
    let stopped = false;
    for (let i = 0; i < messages.length; i++) {
      await pub.send(messages[i]!);
      if (i === 1000) {
        await rabbitStopApp();
        stopped = true;
      }
      if (stopped && i === 2000) {
        // The sink is full and blocking: the gateway holds at its high-water mark.
        await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_buffer_records')) > 0, 5000);
        assert.ok(gw.gateway.sinks.get('rabbit')!.records <= 200 + 1);
        await rabbitStartApp();
        stopped = false;
      }
    }
    const got = await collectAmqp(queue, { count: messages.length, timeoutMs: 60_000 });
    const seqs = got.map((m) => seqOf(m.content));
    const unique = new Set(seqs);
    assert.equal(unique.size, messages.length, 'every record arrived');
    // At-least-once: duplicates only from the batch in flight when the broker went away.
    const extra = await collectAmqp(queue, { timeoutMs: 1000 });
    assert.ok(extra.length <= 1000, `duplicates bounded by the unacknowledged window, got ${extra.length}`);
    // First occurrences are in publish order.
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const s of seqs) if (!seen.has(s) && seen.add(s)) firsts.push(s);
    assert.deepEqual(firsts, messages.map((_, i) => i));
    assert.ok((await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total')) === 0);
  } finally {
    await rabbitStartApp().catch(() => undefined);
    await gw.stop();
  }
});

test('drop-newest: with the broker away the buffer keeps the first records and counts every drop exactly', async () => {
  const { gw, queue } = await rabbitOnlyGateway('drop', { whenFull: 'drop-newest', maxRecords: 25 });
  const messages = numbered(500);
  try {
    await eventually(() => gw.gateway.readiness().ready, 10_000, 'gateway ready');
    await rabbitStopApp();
    const pub = await gw.publisher();
    for (const m of messages) await pub.send(m);
    await eventually(
      async () => (await metricValue(gw.metrics, 'zeek_gateway_records_received_total')) === messages.length,
      10_000,
      'all records received',
    );
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink: 'rabbit', reason: 'buffer-full' }), 475);
    await rabbitStartApp();
    const got = await collectAmqp(queue, { count: 25, timeoutMs: 30_000 });
    assert.deepEqual(got.map((m) => seqOf(m.content)), messages.slice(0, 25).map((_, i) => i));
    assert.equal((await collectAmqp(queue, { timeoutMs: 1000 })).length, 0);
  } finally {
    await rabbitStartApp().catch(() => undefined);
    await gw.stop();
  }
});
