// Kafka transport logic against a stand-in producer: grouping, refusal isolation, state.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import convict from 'convict';
import kafkajs from 'kafkajs';
import type { Producer, ProducerBatch } from 'kafkajs';
import { KafkaTransport, kafkaClientConfig, permanentRefusal, toKafkaMessage } from '../../../../src/sinks/kafka/kafkajs.js';
import { groupByTopic } from '../../../../src/sinks/kafka/topics.js';
import { defaultKafkaOptions, kafkaOptionProblems, kafkaSchema, type KafkaOptions } from '../../../../src/sinks/kafka/options.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { record, until } from '../../../helpers/records.js';

const { KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } =
  kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>;

function protocolError(type: string, retriable = false): Error {
  return new KafkaJSProtocolError!({ type, code: 1, retriable, message: type });
}

function msg(payload: string, topic = 'zeek-conn', key?: string | null, sender?: string): OutboundMessage {
  return {
    record: record('conn', payload, sender),
    payload: Buffer.from(payload),
    address: { target: topic, key: key === undefined || key === null ? key : Buffer.from(key) },
  };
}

function options(over: Partial<KafkaOptions> = {}): KafkaOptions {
  return { ...defaultKafkaOptions(), reconnectIntervalMs: 10, ...over };
}

/** A producer stand-in: records sendBatch calls and answers through `behave`. */
class FakeProducer {
  readonly batches: ProducerBatch[] = [];
  connectFails = 0;
  connects = 0;
  behave: (b: ProducerBatch) => Promise<unknown> = async () => [];
  private readonly listeners = new Map<string, () => void>();
  readonly events = { CONNECT: 'producer.connect', DISCONNECT: 'producer.disconnect' };

  on(event: string, fn: () => void): () => void {
    this.listeners.set(event, fn);
    return () => {};
  }
  async connect(): Promise<void> {
    this.connects++;
    if (this.connectFails > 0) {
      this.connectFails--;
      throw new KafkaJSConnectionError!('Connection error: connect ECONNREFUSED');
    }
    this.listeners.get(this.events.CONNECT)?.();
  }
  async disconnect(): Promise<void> {
    this.listeners.get(this.events.DISCONNECT)?.();
  }
  sendBatch(b: ProducerBatch): Promise<unknown> {
    this.batches.push(b);
    return this.behave(b);
  }
  /** Payloads of a sendBatch call, per topic. */
  payloads(i: number): Record<string, string[]> {
    const b = this.batches[i];
    return Object.fromEntries((b?.topicMessages ?? []).map((t) => [t.topic, t.messages.map((m) => String(m.value))]));
  }
}

/**
 * A broker as a real one answers a produce request spanning several topics while one of them is
 * being auto-created: it writes the partitions of the topics it has and refuses (retriably) those
 * of the new topic, for its first `refusals` requests; the refused topic exists from the first one
 * on (the lookup finds it). `client` retries the whole request like kafkajs, `retries` times.
 */
class AutoCreatingBroker {
  /** What each topic holds, in order. */
  readonly log = new Map<string, string[]>();
  private readonly refusalsLeft = new Map<string, number>();

  constructor(
    existing: string[],
    private readonly refusals: number,
    private readonly error: string,
    /** Topics someone else is creating: the lookup finds them, the broker still refuses them. */
    beingCreated: string[] = [],
  ) {
    for (const topic of existing) this.log.set(topic, []);
    for (const topic of beingCreated) this.refusalsLeft.set(topic, refusals);
  }

  readonly lookup = async (topic: string): Promise<boolean> => this.log.has(topic) || this.refusalsLeft.has(topic);

  client(retries: number): (b: ProducerBatch) => Promise<unknown> {
    return async (b) => {
      for (let attempt = 0; ; attempt++) {
        try {
          this.produce(b);
          return [];
        } catch (err) {
          if (attempt >= retries) throw new KafkaJSNumberOfRetriesExceeded!(err, { retryCount: attempt, retryTime: 1 });
        }
      }
    };
  }

  private produce(b: ProducerBatch): void {
    let refused = false;
    for (const { topic, messages } of b.topicMessages ?? []) {
      const left = this.log.has(topic) ? 0 : (this.refusalsLeft.get(topic) ?? this.refusals);
      if (left > 0) {
        this.refusalsLeft.set(topic, left - 1);
        refused = true;
        continue;
      }
      let held = this.log.get(topic);
      if (!held) this.log.set(topic, (held = []));
      held.push(...messages.map((m) => String(m.value)));
    }
    if (refused) throw protocolError(this.error, true);
  }
}

/** A transport on a fake producer, in a cluster that has every topic. */
function transport(over: Partial<KafkaOptions> = {}): { t: KafkaTransport; p: FakeProducer; states: boolean[] } {
  const p = new FakeProducer();
  const t = new KafkaTransport(options(over), { name: 'kafka', logger: silentLogger() }, () => p as unknown as Producer, async () => true);
  const states: boolean[] = [];
  t.onStateChange = (up) => states.push(up);
  return { t, p, states };
}

describe('kafka options', () => {
  it('validates with convict, including text from the environment', () => {
    const c = convict(kafkaSchema);
    c.load({ brokers: 'a:9092, b:9093', acks: '1', compression: 'zstd' });
    c.validate({ allowed: 'strict' });
    for (const bad of [{ brokers: [] }, { brokers: ['nohost'] }, { acks: 2 }, { compression: 'brotli' }]) {
      const x = convict(kafkaSchema);
      x.load(bad);
      assert.throws(() => x.validate({ allowed: 'strict' }), Error, JSON.stringify(bad));
    }
  });

  it('hides the SASL password', () => {
    const c = convict(kafkaSchema);
    c.load({ sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' } });
    assert.ok(!c.toString().includes('hunter2'));
  });

  it('checks the idempotent producer constraints and SASL user', () => {
    assert.deepEqual(kafkaOptionProblems(options()), []);
    const keys = kafkaOptionProblems(
      options({ idempotent: true, acks: 1, maxInFlightRequests: 5, sasl: { mechanism: 'scram-sha-512', username: '', password: '', passwordFile: '' } }),
    ).map((e) => e.key);
    assert.deepEqual(keys, ['acks', 'maxInFlightRequests', 'sasl.username']);
    assert.deepEqual(kafkaOptionProblems(options({ idempotent: true, acks: -1, maxInFlightRequests: 1 })), []);
    assert.throws(() => transport({ idempotent: true }), /maxInFlightRequests/);
  });

  it('builds the kafkajs client config: brokers list, retries, SASL', () => {
    const c = kafkaClientConfig(
      options({ brokers: 'k1:9094,k2:9094', sasl: { mechanism: 'scram-sha-256', username: 'zeek', password: 'pw', passwordFile: '' } }),
    );
    assert.deepEqual(c.brokers, ['k1:9094', 'k2:9094']);
    assert.deepEqual(c.sasl, { mechanism: 'scram-sha-256', username: 'zeek', password: 'pw' });
    assert.deepEqual(c.retry, { retries: 3, initialRetryTime: 300, maxRetryTime: 5000 });
    assert.equal(c.ssl, undefined);
  });
});

describe('kafka message mapping', () => {
  it('groups by topic keeping the order within each topic', () => {
    const g = groupByTopic([msg('1', 'a'), msg('2', 'b'), msg('3', 'a')]);
    assert.deepEqual(
      g.map((x) => [x.topic, x.messages.map((m) => m.payload.toString())]),
      [
        ['a', ['1', '3']],
        ['b', ['2']],
      ],
    );
  });

  it('maps key, headers and value', () => {
    const m = toKafkaMessage(msg('{"x":1}', 't', 'C1', 'worker-1'));
    assert.deepEqual(m.key, Buffer.from('C1'));
    assert.deepEqual(m.headers, { 'zeek-path': 'conn', 'zeek-sender': 'worker-1' });
    assert.equal(String(m.value), '{"x":1}');
    assert.equal('key' in toKafkaMessage(msg('{}', 't', null)), false);
    assert.deepEqual(toKafkaMessage(msg('{}', 't')).headers, { 'zeek-path': 'conn' });
  });

  it('finds permanent refusals inside kafkajs wrappers', () => {
    const tooLarge = new KafkaJSNonRetriableError!(protocolError('MESSAGE_TOO_LARGE'), { cause: protocolError('MESSAGE_TOO_LARGE') });
    assert.deepEqual(permanentRefusal(tooLarge), { scope: 'record', reason: 'message_too_large' });
    assert.deepEqual(permanentRefusal(protocolError('TOPIC_AUTHORIZATION_FAILED')), {
      scope: 'topic',
      reason: 'topic_authorization_failed',
    });
    const retried = new KafkaJSNumberOfRetriesExceeded!(protocolError('NOT_LEADER_FOR_PARTITION', true), { retryCount: 3, retryTime: 1 });
    assert.equal(permanentRefusal(retried), undefined);
  });
});

describe('kafka transport', () => {
  it('sends one sendBatch per call, grouped by topic, with acks, timeout and compression', async () => {
    const { t, p } = transport({ compression: 'gzip' });
    await t.start();
    // Topics not written to yet go alone, once.
    assert.deepEqual(await t.send([msg('1', 'a'), msg('2', 'b'), msg('3', 'a')]), {});
    assert.deepEqual([p.payloads(0), p.payloads(1)], [{ a: ['1', '3'] }, { b: ['2'] }]);
    assert.deepEqual(await t.send([msg('4', 'a'), msg('5', 'b'), msg('6', 'a')]), {});
    assert.equal(p.batches.length, 3);
    assert.deepEqual(p.payloads(2), { a: ['4', '6'], b: ['5'] });
    assert.equal(p.batches[2]?.acks, -1);
    assert.equal(p.batches[2]?.timeout, 30_000);
    assert.equal(p.batches[2]?.compression, kafkajs.CompressionTypes.GZIP);
  });

  it('refuses records with invalid topic names without sending them', async () => {
    const { t, p } = transport();
    await t.start();
    const r = await t.send([msg('1', ''), msg('2', 'ok'), msg('3', 'bad topic')]);
    assert.deepEqual(r.rejected?.map((x) => [x.message.payload.toString(), x.reason]), [
      ['1', 'invalid_topic'],
      ['3', 'invalid_topic'],
    ]);
    assert.deepEqual(p.payloads(0), { ok: ['2'] });
  });

  it('isolates a record too large by splitting, and delivers the rest', async () => {
    const { t, p } = transport();
    await t.start();
    p.behave = async (b) => {
      const all = (b.topicMessages ?? []).flatMap((x) => x.messages.map((m) => String(m.value)));
      if (all.includes('BIG')) throw new KafkaJSNonRetriableError!(protocolError('MESSAGE_TOO_LARGE'), { cause: protocolError('MESSAGE_TOO_LARGE') });
      return [];
    };
    const batch = ['1', '2', 'BIG', '4', '5', '6'].map((x, i) => msg(x, i % 2 ? 'a' : 'b'));
    const r = await t.send(batch);
    assert.deepEqual(r.rejected?.map((x) => [x.message.payload.toString(), x.reason]), [['BIG', 'message_too_large']]);
    const delivered = new Set(p.batches.slice(1).flatMap((_, i) => Object.values(p.payloads(i + 1)).flat()));
    for (const x of ['1', '2', '4', '5', '6']) assert.ok(delivered.has(x), `${x} delivered`);
    assert.ok(p.batches.length <= 1 + 2 + 2 * 2, 'splits by topic, then halves');
  });

  it('refuses a whole topic at once on a topic-level refusal', async () => {
    const { t, p } = transport();
    await t.start();
    p.behave = async (b) => {
      if ((b.topicMessages ?? []).some((x) => x.topic === 'secret')) throw protocolError('TOPIC_AUTHORIZATION_FAILED');
      return [];
    };
    const r = await t.send([msg('1', 'secret'), msg('2', 'open'), msg('3', 'secret')]);
    assert.deepEqual(r.rejected?.map((x) => x.message.payload.toString()), ['1', '3']);
    assert.equal(p.batches.length, 3);
  });

  it('delivers the other topics of a batch whose topic does not exist, then refuses that topic after the wait', async () => {
    const topics = new Set(['open']);
    const lookups: string[] = [];
    const p = new FakeProducer();
    const lookup = async (topic: string) => (lookups.push(topic), topics.has(topic));
    const t = new KafkaTransport(options({ unknownTopicWaitMs: 1_500 }), { name: 'kafka', logger: silentLogger() }, () => p as unknown as Producer, lookup);
    await t.start();
    // What kafkajs throws after its metadata retries for a topic the cluster does not have.
    p.behave = async (b) => {
      if ((b.topicMessages ?? []).some((x) => !topics.has(x.topic))) {
        throw new KafkaJSNumberOfRetriesExceeded!(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true), { retryCount: 2, retryTime: 100 });
      }
      return [];
    };
    const t0 = Date.now();
    const r = await t.send([msg('1', 'new'), msg('2', 'open'), msg('3', 'new')]);
    assert.ok(Date.now() - t0 >= 1_400, 'waited for the topic');
    assert.deepEqual(r.rejected?.map((x) => [x.message.payload.toString(), x.reason]), [['1', 'unknown_topic'], ['3', 'unknown_topic']]);
    // Neither topic written to yet: each goes alone.
    assert.deepEqual(p.payloads(0), { new: ['1', '3'] });
    assert.deepEqual(p.payloads(1), { open: ['2'] }, 'the other topic delivered at once');
    assert.equal(p.batches.length, 2, 'never resent while the lookup says missing');
    assert.ok(lookups.length >= 1);

    // Refused lately: refused at once, the rest sent, nothing looked up.
    const looked = lookups.length;
    const t1 = Date.now();
    const again = await t.send([msg('4', 'new'), msg('5', 'open')]);
    assert.ok(Date.now() - t1 < 500);
    assert.deepEqual(again.rejected?.map((x) => x.message.payload.toString()), ['4']);
    assert.deepEqual(p.payloads(2), { open: ['5'] });
    assert.equal(lookups.length, looked);
  });

  it('delivers the records of a topic that appears while they wait', async () => {
    const topics = new Set(['open']);
    const p = new FakeProducer();
    const lookup = async (topic: string) => topics.has(topic);
    const t = new KafkaTransport(options({ unknownTopicWaitMs: 10_000 }), { name: 'kafka', logger: silentLogger() }, () => p as unknown as Producer, lookup);
    await t.start();
    p.behave = async (b) => {
      if ((b.topicMessages ?? []).some((x) => !topics.has(x.topic))) throw protocolError('UNKNOWN_TOPIC_OR_PARTITION', true);
      return [];
    };
    setTimeout(() => topics.add('new'), 300);
    const t0 = Date.now();
    assert.deepEqual(await t.send([msg('1', 'new'), msg('2', 'open')]), {});
    assert.ok(Date.now() - t0 < 5_000, 'no longer than the topic took to appear');
    assert.deepEqual(p.payloads(p.batches.length - 1), { new: ['1'] });
  });

  describe('a batch that meets a topic being auto-created', () => {
    const batch = () => [msg('o1', 'open'), msg('n1', 'new'), msg('o2', 'open'), msg('n2', 'new'), msg('o3', 'open')];

    function against(broker: AutoCreatingBroker, retries: number): { t: KafkaTransport; p: FakeProducer } {
      const p = new FakeProducer();
      p.behave = broker.client(retries);
      const t = new KafkaTransport(options(), { name: 'kafka', logger: silentLogger() }, () => p as unknown as Producer, broker.lookup);
      return { t, p };
    }

    it("does not have the other topics written twice by the client's own retry", async () => {
      const broker = new AutoCreatingBroker(['open'], 1, 'NOT_LEADER_FOR_PARTITION');
      const { t } = against(broker, 3);
      await t.start();
      assert.deepEqual(await t.send(batch()), {});
      assert.deepEqual(broker.log.get('open'), ['o1', 'o2', 'o3']);
      assert.deepEqual(broker.log.get('new'), ['n1', 'n2']);
      // Both topics known now: one call for the next batch, each record once.
      await t.send([msg('o4', 'open'), msg('n3', 'new')]);
      assert.deepEqual([broker.log.get('open'), broker.log.get('new')], [['o1', 'o2', 'o3', 'o4'], ['n1', 'n2', 'n3']]);
      await t.close();
    });

    it('does not have the other topics written twice when the new topic is still missing after those retries', async () => {
      const broker = new AutoCreatingBroker(['open'], 3, 'UNKNOWN_TOPIC_OR_PARTITION');
      const { t } = against(broker, 1);
      await t.start();
      assert.deepEqual(await t.send(batch()), {});
      assert.deepEqual(broker.log.get('open'), ['o1', 'o2', 'o3']);
      assert.deepEqual(broker.log.get('new'), ['n1', 'n2']);
      await t.close();
    });

    it('does not have the other topics written twice by a topic someone else is creating, which the lookup finds', async () => {
      const broker = new AutoCreatingBroker(['open'], 1, 'NOT_LEADER_FOR_PARTITION', ['new']);
      const { t } = against(broker, 3);
      await t.start();
      await t.send([msg('o0', 'open')]);
      assert.deepEqual(await t.send(batch()), {});
      assert.deepEqual(broker.log.get('open'), ['o0', 'o1', 'o2', 'o3']);
      assert.deepEqual(broker.log.get('new'), ['n1', 'n2']);
      await t.close();
    });

    it('does not have the other topics written twice when the sink retries the batch the refusal failed', async () => {
      const broker = new AutoCreatingBroker(['open'], 2, 'NOT_LEADER_FOR_PARTITION');
      const { t } = against(broker, 1);
      await t.start();
      await assert.rejects(t.send(batch()), /Kafka/);
      // The sink sends the same batch again.
      assert.deepEqual(await t.send(batch()), {});
      assert.deepEqual(broker.log.get('open'), ['o1', 'o2', 'o3']);
      assert.deepEqual(broker.log.get('new'), ['n1', 'n2']);
      await t.close();
    });
  });

  it('a transient failure rejects the whole batch for the sink to retry', async () => {
    const { t, p, states } = transport();
    await t.start();
    p.behave = async () => {
      throw new KafkaJSNumberOfRetriesExceeded!(protocolError('NOT_LEADER_FOR_PARTITION', true), { retryCount: 3, retryTime: 1 });
    };
    await assert.rejects(t.send([msg('1')]), /Kafka/);
    assert.equal(t.isConnected(), true, 'a refusal is not a disconnection');
    assert.deepEqual(states, [true]);
  });

  it('goes down on connection errors, rejects at once meanwhile, and reconnects in the background', async () => {
    const { t, p, states } = transport();
    await t.start();
    p.behave = async () => {
      throw new KafkaJSNumberOfRetriesExceeded!(new KafkaJSConnectionError!('Connection error: ECONNREFUSED'), { retryCount: 3, retryTime: 1 });
    };
    p.connectFails = 2;
    await assert.rejects(t.send([msg('1')]), /ECONNREFUSED/);
    assert.equal(t.isConnected(), false);
    const calls = p.batches.length;
    await assert.rejects(t.send([msg('2')]), /not connected/);
    assert.equal(p.batches.length, calls, 'no attempt while down');
    p.behave = async () => [];
    await until(() => t.isConnected(), 2000, 'reconnect');
    assert.ok(p.connects >= 3);
    assert.deepEqual(await t.send([msg('3')]), {});
    assert.deepEqual(states, [true, false, true]);
    await t.close();
  });

  it('bounds a send that never completes by sendTimeoutMs', async () => {
    const { t, p } = transport({ sendTimeoutMs: 50 });
    await t.start();
    p.behave = () => new Promise(() => {});
    const started = Date.now();
    await assert.rejects(t.send([msg('1')]), /within 50 ms/);
    assert.ok(Date.now() - started < 1000);
    assert.equal(t.isConnected(), false);
    await t.close();
  });

  it('start() does not throw when the cluster is down, unless failFast', async () => {
    const down = transport();
    down.p.connectFails = 1;
    await down.t.start();
    assert.equal(down.t.isConnected(), false);
    await until(() => down.t.isConnected(), 2000, 'background connect');
    await down.t.close();
    const strict = transport({ failFast: true });
    strict.p.connectFails = 1;
    await assert.rejects(strict.t.start(), /cannot connect/);
  });
});
