// The @platformatic/kafka producer options the Kafka sink's options map to.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError, compatibilityPartitioner } from '@platformatic/kafka';
import { topicMissing } from '../../../../src/sinks/kafka/batch.js';
import { defaultKafkaOptions, type KafkaOptions } from '../../../../src/sinks/kafka/options.js';
import { platformaticProducerOptions } from '../../../../src/sinks/kafka/platformatic.js';

const options = (over: Partial<KafkaOptions> = {}): KafkaOptions => ({ ...defaultKafkaOptions(), ...over });

describe('platformatic client options', () => {
  it('is the default client', () => {
    assert.equal(defaultKafkaOptions().client, 'platformatic');
  });

  it('maps the defaults: brokers, acks=all, timeouts, retries backing off, the Java client partitioner, no compression', () => {
    const o = platformaticProducerOptions(options({ brokers: 'k1:9092, k2:9093' }));
    assert.deepEqual(o.bootstrapBrokers, ['k1:9092', 'k2:9093']);
    assert.equal(o.clientId, 'zeek-log-gateway');
    assert.equal(o.acks, -1);
    assert.equal(o.idempotent, false);
    assert.equal(o.autocreateTopics, true);
    assert.equal(o.connectTimeout, 3000);
    assert.equal(o.requestTimeout, 30_000);
    assert.equal(o.timeout, 30_000, 'the produce timeout the broker waits for the replicas');
    assert.equal(o.retries, 3);
    assert.equal(o.partitioner, compatibilityPartitioner);
    assert.equal(o.compression, undefined);
    assert.equal(o.maxInflights, undefined, "the client's own default");
    assert.equal(o.tls, undefined);
    assert.equal(o.sasl, undefined);
    const delay = o.retryDelay as (c: object, op: string, attempt: number) => number;
    assert.deepEqual([1, 2, 3, 5, 9].map((a) => delay({}, 'send', a)), [300, 600, 1200, 4800, 5000]);
  });

  it('maps acks, idempotence, compression, in-flight requests and topic auto-creation', () => {
    for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      assert.equal(platformaticProducerOptions(options({ compression })).compression, compression);
    }
    const o = platformaticProducerOptions(options({ acks: '1', idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }));
    assert.equal(o.acks, 1);
    assert.equal(o.idempotent, true);
    assert.equal(o.maxInflights, 1);
    assert.equal(o.autocreateTopics, false);
  });

  it('maps TLS (files read, server name) and SASL with the password from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-plat-'));
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const o = platformaticProducerOptions(
      options({
        tls: { enabled: true, caFile: file('ca.pem', 'CA'), certFile: file('c.pem', 'CERT'), keyFile: file('c.key', 'KEY'), servername: 'kafka.example', rejectUnauthorized: true },
        sasl: { mechanism: 'scram-sha-512', username: 'zeek', password: '', passwordFile: file('pw', 'secret\n') },
      }),
    );
    assert.equal(String(o.tls?.ca), 'CA');
    assert.equal(String(o.tls?.cert), 'CERT');
    assert.equal(String(o.tls?.key), 'KEY');
    assert.equal(o.tls?.rejectUnauthorized, true);
    assert.equal(o.tlsServerName, 'kafka.example');
    assert.deepEqual(o.sasl, { mechanism: 'SCRAM-SHA-512', username: 'zeek', password: 'secret' });
    for (const [mechanism, want] of [['plain', 'PLAIN'], ['scram-sha-256', 'SCRAM-SHA-256']] as const) {
      const s = platformaticProducerOptions(options({ sasl: { mechanism, username: 'u', password: 'p', passwordFile: '' } })).sasl;
      assert.equal(s?.mechanism, want);
    }
  });
});

describe('platformatic client errors', () => {
  it('a topic that does not exist: the UserError its metadata request and its send fail with, also wrapped', async () => {
    const missing = new UserError('Unknown topic zeek-dns.');
    assert.equal(topicMissing(missing), true);
    assert.equal(topicMissing(new Error('Kafka: failed', { cause: missing })), true);
    assert.equal(topicMissing(new AggregateError([new Error('other'), missing])), true);
    assert.equal(topicMissing(new UserError('Unsupported compression algorithm zip.')), false);
    assert.equal(topicMissing(new Error('Unknown topic zeek-dns.')), false, 'only the client says so');
  });
});
