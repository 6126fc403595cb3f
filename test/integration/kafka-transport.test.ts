// The Kafka transports (@platformatic/kafka and kafkajs) against the local Kafka (bash scripts/brokers.sh up):
// what is particular to Kafka (compression, keys, topics, NDJSON, SSL, SASL). What every transport
// must do is in test/contract/. Never skips.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { loadKafkaTransport } from '../../src/sinks/kafka/index.js';
import { defaultKafkaOptions, type KafkaClient, type KafkaOptions } from '../../src/sinks/kafka/options.js';
import type { Transport } from '../../src/sinks/transport.js';
import { withNdjson } from '../../src/sinks/shared/ndjson.js';
import { lz4Codec, registerKafkaCodecs, type KafkaCompression } from '../../src/sinks/kafka/compression.js';
import type { OutboundMessage } from '../../src/record.js';
import { silentLogger } from '../../src/ops/log.js';
import {
  CA_FILE,
  CLIENT_CERT_FILE,
  CLIENT_KEY_FILE,
  KAFKA_BROKERS,
  KAFKA_SASL_BROKERS,
  KAFKA_SASL_PASSWORD,
  KAFKA_SASL_USER,
  KAFKA_SSL_BROKERS,
  collectKafka,
  createKafkaTopics,
  kafkaClient,
  kafkaRecordCount,
  requireKafka,
  uniqueName,
} from '../helpers/brokers.js';
import { record } from '../helpers/records.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

function msg(payload: string, topic: string, key?: string, path = 'conn', sender?: string): OutboundMessage {
  return {
    record: record(path, payload, sender),
    payload: Buffer.from(payload),
    address: { target: topic, key: key === undefined ? undefined : Buffer.from(key) },
  };
}

function options(client: KafkaClient, over: Partial<KafkaOptions> = {}): KafkaOptions {
  return {
    ...defaultKafkaOptions(),
    client,
    brokers: KAFKA_BROKERS,
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    sendTimeoutMs: 10_000,
    retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 },
    reconnectIntervalMs: 500,
    ...over,
  };
}

const open: Transport[] = [];

/** A topic whose messages may be at most 4 kB. */
const createSmallTopic = (topic: string): Promise<void> => createKafkaTopics([topic], 1, {}, { 'max.message.bytes': '4096' });

/** Zeek-like records, with a key on every other one. */
function zeekBatch(topic: string, n: number): OutboundMessage[] {
  return Array.from({ length: n }, (_, i) =>
    msg(
      JSON.stringify({ conn: { ts: 1633952241.658421 + i, uid: `C${i}`, 'id.orig_h': '10.0.0.1', proto: 'tcp' } }),
      topic,
      i % 2 === 0 ? `C${i}` : undefined,
      'conn',
      i % 3 === 0 ? 'worker-1' : undefined,
    ),
  );
}

/** Sends `batch` as the sink does: a batch that fails goes again whole, after a pause. Returns the sends it took. */
async function sendAsTheSink(t: Transport, batch: OutboundMessage[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      assert.deepEqual(await t.send(batch), {}, 'nothing refused');
      return attempt;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

for (const client of ['platformatic', 'kafkajs'] as KafkaClient[]) describe(`Kafka transport (${client}) against Kafka`, () => {
  async function started(over: Partial<KafkaOptions> = {}): Promise<Transport> {
    const o = options(client, over);
    // As the sink registry builds it: NDJSON mode wraps the Kafka transport.
    const t = withNdjson((await loadKafkaTransport(o))(o, { name: 'it-kafka', logger: silentLogger() }), o.recordsPerMessage);
    open.push(t);
    await t.start();
    assert.equal(t.isConnected(), true);
    return t;
  }

  before(async () => {
    await requireKafka();
    registerKafkaCodecs(); // the test consumer reads the compressed batches with the same codecs
  });
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as KafkaCompression[]) {
    it(`produces a batch with compression ${compression}, consumed back with keys and headers`, async () => {
      const topic = uniqueName(`c-${compression}`);
      await createKafkaTopics([topic], 3);
      const t = await started({ compression });
      const batch = zeekBatch(topic, 500);
      assert.deepEqual(await t.send(batch), {});
      const got = await collectKafka(topic, { count: 500, timeoutMs: 30_000 });
      const byValue = new Map(got.map((r) => [r.value?.toString(), r]));
      for (const m of batch) {
        const r = byValue.get(m.payload.toString());
        assert.ok(r, `record ${m.payload.toString()} consumed`);
        assert.equal(r.key?.toString(), m.address.key?.toString());
        assert.equal(r.headers['zeek-path']?.toString(), 'conn');
        assert.equal(r.headers['zeek-sender']?.toString(), m.record.sender);
      }
      // Same key, same partition (murmur2, like the Java client).
      const c0 = got.filter((r) => r.key?.toString() === 'C0');
      assert.equal(c0.length, 1);
    });
  }

  it('idempotent producer (acks -1, one request in flight): several batches in flight, each record once, in order', async () => {
    const topic = uniqueName('idem');
    await createKafkaTopics([topic], 1);
    const t = await started({ idempotent: true, acks: -1, maxInFlightRequests: 1 });
    const batches = Array.from({ length: 8 }, (_, b) => Array.from({ length: 250 }, (_, i) => msg(`{"n":${b * 250 + i}}`, topic)));
    assert.deepEqual(await Promise.all(batches.map((b) => t.send(b))), batches.map(() => ({})));
    const got = await collectKafka(topic, { count: 2000, timeoutMs: 30_000 });
    assert.deepEqual(got.map((r) => r.value?.toString()), batches.flat().map((m) => m.payload.toString()));
  });

  it('groups a multi-topic batch into one send and routes each record to its topic', async () => {
    const a = uniqueName('ta');
    const b = uniqueName('tb');
    await createKafkaTopics([a, b]);
    const t = await started({ compression: 'lz4' });
    assert.deepEqual(await t.send([msg('{"a":1}', a), msg('{"b":1}', b), msg('{"a":2}', a)]), {});
    assert.deepEqual(
      (await collectKafka(a, { count: 2 })).map((r) => r.value?.toString()),
      ['{"a":1}', '{"a":2}'],
    );
    assert.deepEqual(
      (await collectKafka(b, { count: 1 })).map((r) => r.value?.toString()),
      ['{"b":1}'],
    );
  });

  /**
   * Rounds of one batch each, from a transport that has not written to any topic yet (as after a
   * start), interleaving an existing topic (3 partitions) with a new one, keyed over the
   * partitions. `create` creates the new topic just before the send (the controller answered, the
   * broker is still making its partitions); without it, auto-creation (the default) makes it
   * during the produce. Either way the broker refuses the new topic's partitions for a moment while
   * it writes the existing topic's partitions of the same request, which a retry (the client's,
   * then the sink's) would write again. Checks that the existing topic holds each record once;
   * returns the new topics.
   */
  async function firstBatches(rounds: number, perTopic: number, create?: (topic: string) => Promise<unknown>): Promise<Array<{ topic: string; sent: string[] }>> {
    const id = uniqueName('newtopic');
    const existing = `${id}-conn`;
    await createKafkaTopics([existing], 3);
    const sentExisting: string[] = [];
    const sends: number[] = [];
    const fresh: Array<{ topic: string; sent: string[] }> = [];
    for (let round = 0; round < rounds; round++) {
      const topic = `${id}-new${round}`;
      const batch = Array.from({ length: 2 * perTopic }, (_, i) => {
        const n = round * perTopic + (i >> 1);
        const target = i % 2 === 0 ? existing : topic;
        return msg(JSON.stringify({ target, n }), target, `C${n}`);
      });
      const t = await started();
      await create?.(topic);
      try {
        sends.push(await sendAsTheSink(t, batch));
      } finally {
        await t.close();
      }
      const ofTopic = (name: string): string[] => batch.filter((m) => m.address.target === name).map((m) => m.payload.toString());
      sentExisting.push(...ofTopic(existing));
      fresh.push({ topic, sent: ofTopic(topic) });
      assert.equal(await kafkaRecordCount(existing), sentExisting.length, `${existing}: each record once (round ${round}; sends per batch: ${sends.join(', ')})`);
    }
    const got = await collectKafka(existing, { count: sentExisting.length, timeoutMs: 30_000 });
    assert.deepEqual(got.map((r) => r.value?.toString()).sort(), [...sentExisting].sort());
    return fresh;
  }

  it('the first batch that spans an existing topic and a new auto-created one writes each record of both once', async () => {
    for (const { topic, sent } of await firstBatches(6, 40)) {
      const got = await collectKafka(topic, { count: sent.length, timeoutMs: 30_000 });
      assert.deepEqual(got.map((r) => r.value?.toString()), sent, `${topic}: every record, in order`);
      assert.equal(await kafkaRecordCount(topic), sent.length, `${topic}: each record once`);
    }
  });

  // The new topic's own records may arrive twice: the client retries its request whole, and the
  // broker wrote some of its 30 partitions before (idempotent: true prevents that).
  it('the first batch that spans an existing topic and one being created (30 partitions) writes each record of the existing topic once', async () => {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      const fresh = await firstBatches(4, 200, (topic) => admin.createTopics({ topics: [{ topic, numPartitions: 30 }], waitForLeaders: false }));
      for (const { topic, sent } of fresh) {
        const got = new Set((await collectKafka(topic, { count: await kafkaRecordCount(topic), timeoutMs: 30_000 })).map((r) => r.value?.toString()));
        for (const value of sent) assert.ok(got.has(value), `${topic}: ${value} arrived`);
      }
    } finally {
      await admin.disconnect();
    }
  });

  // kafkajs compresses through codecs the test can replace (corrupt).
  if (client === 'kafkajs') it('the broker checks what it decompresses: a corrupted lz4 batch is refused', async () => {
    const topic = uniqueName('corrupt');
    await createKafkaTopics([topic]);
    const t = await started({ compression: 'lz4', retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } });
    const codecs = CompressionCodecs as Record<number, () => typeof lz4Codec>;
    const good = codecs[CompressionTypes.LZ4];
    codecs[CompressionTypes.LZ4] = () => ({
      async compress(e) {
        const b = await lz4Codec.compress(e);
        for (let i = 20; i < b.length - 10; i += 7) b[i] = (b[i] as number) ^ 0x5a;
        return b;
      },
      decompress: lz4Codec.decompress,
    });
    try {
      await assert.rejects(t.send(zeekBatch(topic, 200)));
    } finally {
      codecs[CompressionTypes.LZ4] = good as () => typeof lz4Codec;
    }
  });

  it('NDJSON mode (recordsPerMessage): groups a batch per topic, key, path and sender, each in order; a raw newline refuses only its record', async () => {
    const topic = uniqueName('ndjson');
    await createKafkaTopics([topic], 1);
    const t = await started({ recordsPerMessage: 100 });
    const conn = (n: number, key?: string, sender?: string) => msg(`{"conn":{"n":${n}}}`, topic, key, 'conn', sender);
    const batch = [
      ...Array.from({ length: 250 }, (_, i) => conn(i)),
      conn(250, undefined, 'worker-2'), // another sender: a message of its own
      msg('{"dns":{"n":1}}', topic, undefined, 'dns'), // another path: a message of its own
      conn(251, 'K'), // a key: a message per key, so records keep their key's partition
      conn(252), // joins the third unkeyed conn message despite the records between
      msg('{"conn":\n{"n":253}}', topic), // a raw newline cannot be a line of its own
      conn(254, 'K'),
      msg('{"dns":{"n":2}}', topic, undefined, 'dns'),
    ];
    const r = await t.send(batch);
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.toString(), x.reason]),
      [['{"conn":\n{"n":253}}', 'newline_in_record']],
    );
    const got = await collectKafka(topic, { count: 6 });
    const h = (x: (typeof got)[number], name: string) => x.headers[name]?.toString() ?? null;
    assert.deepEqual(
      got.map((x) => [h(x, 'zeek-records'), h(x, 'zeek-path'), h(x, 'zeek-sender'), x.key?.toString() ?? null]),
      [
        ['100', 'conn', null, null],
        ['100', 'conn', null, null],
        ['51', 'conn', null, null],
        ['1', 'conn', 'worker-2', null],
        ['2', 'dns', null, null],
        ['2', 'conn', null, 'K'],
      ],
    );
    const lines = got.flatMap((x) => {
      const text = x.value?.toString() ?? '';
      assert.ok(text.endsWith('\n'), 'every line ends with a newline');
      return text.slice(0, -1).split('\n');
    });
    const n = (i: number) => `{"conn":{"n":${i}}}`;
    assert.deepEqual(lines, [
      ...Array.from({ length: 250 }, (_, i) => n(i)),
      n(252),
      n(250),
      '{"dns":{"n":1}}',
      '{"dns":{"n":2}}',
      n(251),
      n(254),
    ]);
  });

  it('NDJSON mode: a message the topic refuses as too large goes again record by record; only a record too large alone is refused', async () => {
    const topic = uniqueName('ndjson-small');
    await createSmallTopic(topic);
    const t = await started({ recordsPerMessage: 100 });
    const small = (i: number) => JSON.stringify({ conn: { n: i, pad: 'y'.repeat(200) } });
    const big = JSON.stringify({ conn: { pad: 'x'.repeat(10_000) } });
    // 30 records of ~220 bytes: one message of ~6.6 kB, over the topic's 4 kB.
    const batch = [...Array.from({ length: 15 }, (_, i) => msg(small(i), topic)), msg(big, topic), ...Array.from({ length: 15 }, (_, i) => msg(small(15 + i), topic))];
    const r = await t.send(batch);
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.length, x.reason]),
      [[big.length, 'message_too_large']],
    );
    const got = await collectKafka(topic, { count: 30 });
    assert.deepEqual(
      got.map((x) => [x.headers['zeek-records']?.toString(), x.value?.toString()]),
      Array.from({ length: 30 }, (_, i) => ['1', `${small(i)}\n`]),
    );
  });

  it('connects over SSL with a client certificate', async () => {
    const topic = uniqueName('ssl');
    await createKafkaTopics([topic]);
    const d = defaultKafkaOptions();
    const t = await started({
      brokers: KAFKA_SSL_BROKERS,
      tls: { ...d.tls, enabled: true, caFile: CA_FILE, certFile: CLIENT_CERT_FILE, keyFile: CLIENT_KEY_FILE },
    });
    assert.deepEqual(await t.send([msg('{"ssl":1}', topic)]), {});
    assert.equal((await collectKafka(topic, { count: 1 }))[0]?.value?.toString(), '{"ssl":1}');
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`authenticates with SASL ${mechanism} over SSL`, async () => {
      const topic = uniqueName(`sasl-${mechanism}`);
      await createKafkaTopics([topic]);
      const d = defaultKafkaOptions();
      const t = await started({
        brokers: KAFKA_SASL_BROKERS,
        tls: { ...d.tls, enabled: true, caFile: CA_FILE },
        sasl: { mechanism, username: KAFKA_SASL_USER, password: KAFKA_SASL_PASSWORD, passwordFile: '' },
      });
      assert.deepEqual(await t.send([msg(`{"sasl":"${mechanism}"}`, topic)]), {});
      assert.equal((await collectKafka(topic, { count: 1 }))[0]?.value?.toString(), `{"sasl":"${mechanism}"}`);
    });
  }
});
