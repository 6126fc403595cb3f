// Kafka sink options, shared by the clients (platformatic.ts, kafkajs.ts): the convict schema,
// its defaults and the checks that span several options.
import type { KafkaCompression } from './compression.js';
import { recordsPerMessageSchema } from '../shared/ndjson.js';
import { asList, schemaDefaults, tlsSchema, type TlsOptions } from '../shared/transport-options.js';

export type SaslMechanism = 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';

export const KAFKA_CLIENTS = ['platformatic', 'kafkajs'] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

export interface KafkaOptions {
  /** platformatic (@platformatic/kafka, the default) or kafkajs. */
  client: KafkaClient;
  /** A list, or comma-separated text (from the environment). */
  brokers: string[] | string;
  clientId: string;
  tls: TlsOptions;
  sasl: { mechanism: SaslMechanism; username: string; password: string; passwordFile: string };
  /** -1, 0 or 1 (text when it came from the environment). */
  acks: number | string;
  idempotent: boolean;
  maxInFlightRequests: number;
  compression: KafkaCompression;
  allowAutoTopicCreation: boolean;
  unknownTopicWaitMs: number;
  ackTimeoutMs: number;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  sendTimeoutMs: number;
  retry: { retries: number; initialRetryTimeMs: number; maxRetryTimeMs: number };
  reconnectIntervalMs: number;
  recordsPerMessage: number;
  failFast: boolean;
}

function brokerListFormat(val: unknown): void {
  const list = typeof val === 'string' || Array.isArray(val) ? asList(val) : [];
  if (list.length === 0) throw new Error('must be a non-empty list of host:port');
  for (const b of list) {
    if (typeof b !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(b)) {
      throw new Error(`broker ${JSON.stringify(b)} is not host:port`);
    }
  }
}

/** -1, 0 or 1; also as text, since environment variables are text. */
function acksFormat(val: unknown): void {
  if ((typeof val !== 'number' && typeof val !== 'string') || !['-1', '0', '1'].includes(String(val).trim())) {
    throw new Error('must be -1 (all), 0 or 1');
  }
}

/** Client names a config may still carry from before node-rdkafka was retired. */
const RETIRED_CLIENTS = new Set(['librdkafka', 'rdkafka', 'node-rdkafka']);

/** One of KAFKA_CLIENTS; a retired client is named as such, with what to use instead. */
function clientFormat(val: unknown): void {
  if (typeof val === 'string' && RETIRED_CLIENTS.has(val)) {
    throw new Error('the librdkafka client (node-rdkafka, a native build) was retired: use "platformatic" (the default, faster than node-rdkafka measured here) or "kafkajs"');
  }
  if (!(KAFKA_CLIENTS as readonly unknown[]).includes(val)) throw new Error(`must be one of ${KAFKA_CLIENTS.join(', ')}`);
}

export const kafkaSchema = {
  client: {
    doc: 'Kafka client library: platformatic (@platformatic/kafka, pure TypeScript, the fastest measured: see the README performance section) or kafkajs (pure JavaScript). librdkafka (node-rdkafka) was retired: a config naming it is refused.',
    format: clientFormat,
    default: 'platformatic' as KafkaClient,
  },
  brokers: {
    doc: 'Bootstrap brokers: a list of host:port, or one string with them comma-separated (as environment variables give it).',
    format: brokerListFormat,
    // A string default keeps convict from JSON-parsing an environment value.
    default: 'localhost:9092' as string | string[],
  },
  clientId: { doc: 'Kafka client id (broker logs, quotas).', format: String, default: 'zeek-log-gateway' },
  tls: tlsSchema('connect to the Kafka brokers'),
  sasl: {
    mechanism: {
      doc: 'SASL mechanism; none: no SASL.',
      format: ['none', 'plain', 'scram-sha-256', 'scram-sha-512'],
      default: 'none',
    },
    username: { doc: 'SASL user name.', format: String, default: '' },
    password: { doc: 'SASL password.', format: String, default: '', sensitive: true },
    passwordFile: { doc: 'File holding the SASL password (overrides password); empty: none.', format: String, default: '' },
  },
  acks: {
    doc: 'Acknowledgements required: -1 all in-sync replicas, 1 the leader, 0 none (records then count as delivered once written to the socket).',
    format: acksFormat,
    default: -1,
  },
  idempotent: {
    doc: 'Idempotent producer (no duplicates from the producer own retries); needs acks -1 and maxInFlightRequests 1.',
    format: Boolean,
    default: false,
  },
  maxInFlightRequests: {
    doc: 'Produce requests in flight per broker connection. 0: the default of each client, which sends one request per broker per batch (with buffer.maxInFlight 1 that is one at a time).',
    format: 'nat',
    default: 0,
  },
  compression: {
    doc: 'Record batch compression.',
    format: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    default: 'none',
  },
  allowAutoTopicCreation: {
    doc: 'Let the broker create missing topics (when its auto.create.topics.enable allows).',
    format: Boolean,
    default: true,
  },
  unknownTopicWaitMs: {
    doc: 'How long records for a topic that does not exist (and is not auto-created) wait for it; then they are refused (zeek_gateway_sink_dropped_total{reason="unknown_topic"}, dead letters), and the topic is looked up again every 5 s while records for it arrive. The other topics keep flowing meanwhile: the batch that waits does not count against buffer.maxInFlight, and the missing topic\'s records of later batches queue behind it, in order.',
    format: 'nat',
    default: 10_000,
  },
  ackTimeoutMs: { doc: 'Time the broker may wait for the in-sync replicas (produce timeout).', format: 'nat', default: 30_000 },
  connectionTimeoutMs: { doc: 'Time allowed for a TCP (and TLS) connection.', format: 'nat', default: 3_000 },
  requestTimeoutMs: { doc: 'Time allowed for one request to a broker.', format: 'nat', default: 30_000 },
  sendTimeoutMs: {
    doc: 'Upper bound of one batch send, the client retries included; the sink then retries the batch.',
    format: 'nat',
    default: 45_000,
  },
  retry: {
    retries: {
      doc: 'Kafka client retries of a request; keep low, the sink retries whole batches.',
      format: 'nat',
      default: 3,
    },
    initialRetryTimeMs: { doc: 'First client retry delay (it doubles up to maxRetryTimeMs).', format: 'nat', default: 300 },
    maxRetryTimeMs: { doc: 'Longest client retry delay.', format: 'nat', default: 5_000 },
  },
  reconnectIntervalMs: {
    doc: 'While disconnected, how often to try reconnecting.',
    format: 'nat',
    default: 2_000,
  },
  recordsPerMessage: recordsPerMessageSchema('topic, key'),
  failFast: {
    doc: 'Fail startup when no broker can be reached; otherwise keep retrying in the background.',
    format: Boolean,
    default: false,
  },
};

export function defaultKafkaOptions(): KafkaOptions {
  return schemaDefaults<KafkaOptions>(kafkaSchema);
}

/**
 * Checks that span several options (convict validates one key at a time), for either
 * client. Keys as in the schema.
 */
export function kafkaOptionProblems(o: KafkaOptions): Array<{ key: string; message: string }> {
  const errors: Array<{ key: string; message: string }> = [];
  if (o.idempotent && Number(o.acks) !== -1) errors.push({ key: 'acks', message: 'must be -1 when idempotent is true' });
  if (o.idempotent && o.maxInFlightRequests !== 1) {
    errors.push({ key: 'maxInFlightRequests', message: 'must be 1 when idempotent is true' });
  }
  if (o.idempotent && o.retry.retries < 1) errors.push({ key: 'retry.retries', message: 'must be at least 1 when idempotent is true' });
  if (o.sasl.mechanism !== 'none' && !o.sasl.username) {
    errors.push({ key: 'sasl.username', message: `is required with sasl.mechanism ${o.sasl.mechanism}` });
  }
  if ((o.tls.certFile === '') !== (o.tls.keyFile === '')) {
    errors.push({ key: 'tls.keyFile', message: 'tls.certFile and tls.keyFile must be set together' });
  }
  return errors;
}

/** Kafka's legal topic names (Topic.validate: "." and ".." are not); others would fail at the broker for every retry. */
export const TOPIC_NAME = /^(?!\.\.?$)[a-zA-Z0-9._-]{1,249}$/;
