// How the Kafka sink's options become librdkafka settings, and which combinations are refused.
// The transport itself is tested against the real Kafka (test/integration/kafka-transport.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSinks } from '../../../../src/config/sinks.js';
import { loadConfig } from '../../../../src/config/load.js';
import { validateKafkaOptions } from '../../../../src/sinks/kafka/index.js';
import { defaultKafkaOptions, type KafkaOptions } from '../../../../src/sinks/kafka/options.js';
import { loadRdkafka, rdkafkaConfig } from '../../../../src/sinks/kafka/librdkafka.js';

function options(over: Partial<KafkaOptions> = {}): KafkaOptions {
  return { ...defaultKafkaOptions(), client: 'librdkafka', ...over };
}

describe('librdkafka client options', () => {
  it('node-rdkafka loads (an optional dependency, but the tests need it)', () => {
    const { module, error } = loadRdkafka();
    assert.equal(error, undefined);
    assert.match(module?.librdkafkaVersion ?? '', /^\d+\.\d+\.\d+/);
  });

  it('maps the defaults: brokers, acks, timeouts, murmur2 partitioner, delivery reports', () => {
    const { global, topic } = rdkafkaConfig(options({ brokers: 'k1:9092, k2:9092' }));
    assert.equal(global['metadata.broker.list'], 'k1:9092,k2:9092');
    assert.equal(global['client.id'], 'zeek-log-gateway');
    assert.equal(global.partitioner, 'murmur2_random');
    assert.equal(global['compression.codec'], 'none');
    assert.equal(global['security.protocol'], 'plaintext');
    assert.equal(global['enable.idempotence'], false);
    assert.equal(global.dr_cb, true);
    assert.equal(global['linger.ms'], 2, 'the sink batches already: a short linger');
    assert.equal(global['max.in.flight.requests.per.connection'], 1, 'one request at a time: retries keep the order');
    assert.equal('message.send.max.retries' in global, false, 'retries bounded by message.timeout.ms, not a count');
    assert.equal(global['topic.metadata.propagation.max.ms'], 10_000, 'a topic librdkafka does not know waits unknownTopicWaitMs');
    assert.deepEqual(topic, { 'request.required.acks': -1, 'request.timeout.ms': 30_000, 'message.timeout.ms': 45_000 });
  });

  it('maps TLS, SASL (password from a file) and lets librdkafkaOptions win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-rdk-'));
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    const d = defaultKafkaOptions();
    const { global, topic } = rdkafkaConfig(
      options({
        acks: '1',
        compression: 'zstd',
        maxInFlightRequests: 5,
        tls: { ...d.tls, enabled: true, caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', rejectUnauthorized: false },
        sasl: { mechanism: 'scram-sha-512', username: 'zeek', password: '', passwordFile: join(dir, 'pw') },
        librdkafkaOptions: { 'linger.ms': 2, 'compression.codec': 'lz4' },
      }),
    );
    assert.equal(global['security.protocol'], 'sasl_ssl');
    assert.equal(global['ssl.ca.location'], '/ca.pem');
    assert.equal(global['ssl.certificate.location'], '/c.pem');
    assert.equal(global['ssl.key.location'], '/k.pem');
    assert.equal(global['enable.ssl.certificate.verification'], false);
    assert.equal(global['ssl.endpoint.identification.algorithm'], 'none');
    assert.equal(global['sasl.mechanisms'], 'SCRAM-SHA-512');
    assert.equal(global['sasl.username'], 'zeek');
    assert.equal(global['sasl.password'], 's3cret');
    assert.equal(global['max.in.flight.requests.per.connection'], 5);
    assert.equal(global['linger.ms'], 2);
    assert.equal(global['compression.codec'], 'lz4', 'librdkafkaOptions override the mapped value');
    assert.equal(topic['request.required.acks'], 1);
  });

  it('refuses tls.servername with librdkafka, and librdkafkaOptions with kafkajs', () => {
    const d = defaultKafkaOptions();
    assert.deepEqual(
      validateKafkaOptions(options({ tls: { ...d.tls, enabled: true, servername: 'kafka.example' } })).map((p) => p.key),
      ['tls.servername'],
    );
    assert.deepEqual(
      validateKafkaOptions({ ...d, librdkafkaOptions: { 'linger.ms': 5 } }).map((p) => p.key),
      ['librdkafkaOptions'],
    );
    assert.deepEqual(validateKafkaOptions(options()), []);
  });

  it('takes librdkafkaOptions from a config file (dotted names) or as JSON in the environment, and names bad ones', () => {
    const sink = (over: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
      loadSinks({ k: { type: 'kafka', client: 'librdkafka', ...over } }, env);
    const fromFile = sink({ librdkafkaOptions: { 'linger.ms': 3, 'batch.num.messages': 5000 } });
    assert.deepEqual(fromFile.problems, []);
    assert.equal(rdkafkaConfig(fromFile.configs[0]?.options as unknown as KafkaOptions).global['batch.num.messages'], 5000);
    const fromEnv = sink({}, { ZLG_SINK_K_LIBRDKAFKA_OPTIONS: '{"linger.ms": 7}' });
    assert.deepEqual(fromEnv.problems, []);
    assert.equal(rdkafkaConfig(fromEnv.configs[0]?.options as unknown as KafkaOptions).global['linger.ms'], 7);
    assert.match(sink({}, { ZLG_SINK_K_LIBRDKAFKA_OPTIONS: '{linger' }).problems.join(), /sinks\.k\.librdkafkaOptions: must be a JSON object/);
    assert.match(sink({ librdkafkaOptions: { 'Linger MS': 1 } }).problems.join(), /librdkafkaOptions: "Linger MS" is not a librdkafka property name/);
    assert.match(sink({ librdkafkaOptions: { 'linger.ms': [1] } }).problems.join(), /linger\.ms: must be a string, number or boolean/);
    assert.match(sink({ client: 'rdkafka' }).problems.join(), /sinks\.k\.client: must be one of/);
  });

  it('takes librdkafkaOptions with dotted names through the whole config loader (files, then environment)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-rdk-'));
    const file = join(dir, 'gw.json');
    writeFileSync(file, JSON.stringify({ sinks: { kafka: { client: 'librdkafka', librdkafkaOptions: { 'linger.ms': 1, 'batch.size': 100000 } } } }));
    const kafkaOf = (env: NodeJS.ProcessEnv) => loadConfig([file], env).config.sinks.find((s) => s.name === 'kafka')?.options as unknown as KafkaOptions;
    assert.equal(rdkafkaConfig(kafkaOf({})).global['batch.size'], 100000);
    assert.equal(rdkafkaConfig(kafkaOf({ ZLG_SINK_KAFKA_LIBRDKAFKA_OPTIONS: '{"linger.ms": 9}' })).global['linger.ms'], 9);
    writeFileSync(file, JSON.stringify({ sinks: { kafka: { librdkafkaOptions: { 'linger.ms': 1 } } } }));
    assert.throws(() => loadConfig([file], {}), /sinks\.kafka\.librdkafkaOptions: applies to client librdkafka only/);
  });
});
