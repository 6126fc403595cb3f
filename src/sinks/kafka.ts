// Kafka transport: one kafkajs producer, one sendBatch per batch, permanent per-record
// refusals isolated by splitting instead of failing the batch forever.
import kafkajs from 'kafkajs';
import type { KafkaConfig, LogEntry, Message, Producer, ProducerConfig, SASLOptions, TopicMessages } from 'kafkajs';
import { RateLimitedLog, type Logger } from '../ops/log.js';
import { compressionType, type KafkaCompression } from './codecs.js';
import { KafkaConnection } from './kafka-connection.js';
import { RdKafkaTransport, rdkafkaProblems } from './kafka-rdkafka.js';
import { messageHeaders, type OutboundMessage } from './message.js';
import { recordsPerMessageSchema } from './ndjson.js';
import {
  asList,
  loadTls,
  resolveSecret,
  schemaDefaults,
  tlsSchema,
  type TlsOptions,
  type TransportContext,
} from './transport-options.js';
import type { SendResult, Transport } from './transport.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

export type SaslMechanism = 'none' | 'plain' | 'scram-sha-256' | 'scram-sha-512';

export type KafkaClient = 'kafkajs' | 'librdkafka';

export interface KafkaOptions {
  /** kafkajs (pure JavaScript, the default) or librdkafka (the optional node-rdkafka package). */
  client: KafkaClient;
  /** Extra librdkafka properties (client librdkafka only); they win over the mapped options. JSON text as loaded. */
  librdkafkaOptions: Record<string, string | number | boolean> | string;
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

/** The librdkafkaOptions value as an object: an environment variable gives it as JSON text. */
export function librdkafkaProperties(val: unknown): Record<string, string | number | boolean> {
  let v = val;
  if (typeof v === 'string') {
    try {
      v = v.trim() === '' ? {} : JSON.parse(v);
    } catch {
      throw new Error('must be a JSON object of librdkafka properties');
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('must be an object of librdkafka properties');
  return v as Record<string, string | number | boolean>;
}

/** A flat object of librdkafka properties: names to strings, numbers or booleans. */
function librdkafkaOptionsFormat(val: unknown): void {
  const props = librdkafkaProperties(val);
  for (const [k, v] of Object.entries(props)) {
    if (!/^[a-z][a-z0-9._]*$/.test(k)) throw new Error(`${JSON.stringify(k)} is not a librdkafka property name`);
    if (!['string', 'number', 'boolean'].includes(typeof v)) throw new Error(`${k}: must be a string, number or boolean`);
  }
}

export const kafkaSchema = {
  client: {
    doc: 'Kafka client library: kafkajs (pure JavaScript, always installed) or librdkafka (the optional node-rdkafka package, a native build; several times less CPU per record: see the README performance section).',
    format: ['kafkajs', 'librdkafka'],
    default: 'kafkajs',
  },
  librdkafkaOptions: {
    doc: 'Extra librdkafka properties for client librdkafka, an object (e.g. {"linger.ms": 2}; JSON text in the environment); they override the ones derived from the options here. Empty: none.',
    format: librdkafkaOptionsFormat,
    // Text, not {}: convict would JSON-parse the text form back into dotted keys it cannot walk.
    default: '' as Record<string, string | number | boolean> | string,
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
    doc: 'Produce requests in flight per broker connection; 0: unlimited.',
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
  ackTimeoutMs: { doc: 'Time the broker may wait for the in-sync replicas (produce timeout).', format: 'nat', default: 30_000 },
  connectionTimeoutMs: { doc: 'Time allowed for a TCP (and TLS) connection.', format: 'nat', default: 3_000 },
  requestTimeoutMs: { doc: 'Time allowed for one request to a broker.', format: 'nat', default: 30_000 },
  sendTimeoutMs: {
    doc: 'Upper bound of one batch send, kafkajs retries included; the sink then retries the batch.',
    format: 'nat',
    default: 45_000,
  },
  retry: {
    retries: {
      doc: 'kafkajs retries of a request; keep low, the sink retries whole batches.',
      format: 'nat',
      default: 3,
    },
    initialRetryTimeMs: { doc: 'First kafkajs retry delay.', format: 'nat', default: 300 },
    maxRetryTimeMs: { doc: 'Longest kafkajs retry delay.', format: 'nat', default: 5_000 },
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

/** Checks that span several options (convict validates one key at a time). Keys as in the schema. */
export function validateKafkaOptions(o: KafkaOptions): Array<{ key: string; message: string }> {
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
  if (o.client === 'librdkafka') errors.push(...rdkafkaProblems(o));
  else if (Object.keys(librdkafkaProperties(o.librdkafkaOptions ?? {})).length > 0) {
    errors.push({ key: 'librdkafkaOptions', message: 'applies to client librdkafka only' });
  }
  return errors;
}

/** Kafka's legal topic names; others would fail at the broker for every retry. */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Broker refusals that retrying cannot fix. Record-level ones are isolated by splitting the batch. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TIMESTAMP']);
const TOPIC_ERRORS = new Set(['INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED']);
/** Errors meaning the cluster is out of reach (as opposed to refusing something). */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSSendTimeout',
]);

type Refusal = { scope: 'record' | 'topic'; reason: string };

/** The permanent refusal inside a (possibly wrapped) kafkajs error, if it is one. */
export function permanentRefusal(err: unknown): Refusal | undefined {
  for (let e = err as { type?: string; cause?: unknown; name?: string } | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.type && RECORD_ERRORS.has(e.type)) return { scope: 'record', reason: e.type.toLowerCase() };
    if (e.type && TOPIC_ERRORS.has(e.type)) return { scope: 'topic', reason: e.type.toLowerCase() };
    e = e.cause as typeof e;
  }
  return undefined;
}

function isConnectionError(err: unknown): boolean {
  for (let e = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.name && CONNECTION_ERRORS.has(e.name)) return true;
    if (e.message === 'The producer is disconnected') return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Groups a batch by topic, keeping the batch order within each topic. */
export function groupByTopic(batch: readonly OutboundMessage[]): Array<{ topic: string; messages: OutboundMessage[] }> {
  const byTopic = new Map<string, OutboundMessage[]>();
  for (const m of batch) {
    let list = byTopic.get(m.address.target);
    if (!list) byTopic.set(m.address.target, (list = []));
    list.push(m);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export function toKafkaMessage(m: OutboundMessage): Message {
  const out: Message = { value: m.payload, headers: messageHeaders(m) };
  if (m.address.key !== undefined && m.address.key !== null) out.key = m.address.key;
  return out;
}

function toTopicMessages(batch: readonly OutboundMessage[]): TopicMessages[] {
  return groupByTopic(batch).map(({ topic, messages }) => ({ topic, messages: messages.map(toKafkaMessage) }));
}

/** The kafkajs client configuration (without the logger) for these options. */
export function kafkaClientConfig(o: KafkaOptions): KafkaConfig {
  const config: KafkaConfig = {
    brokers: asList(o.brokers),
    clientId: o.clientId,
    connectionTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    retry: { retries: o.retry.retries, initialRetryTime: o.retry.initialRetryTimeMs, maxRetryTime: o.retry.maxRetryTimeMs },
  };
  if (o.tls.enabled) config.ssl = loadTls(o.tls);
  if (o.sasl.mechanism !== 'none') {
    const password = resolveSecret(o.sasl.password, o.sasl.passwordFile, 'sasl.passwordFile');
    config.sasl = { mechanism: o.sasl.mechanism, username: o.sasl.username, password } as SASLOptions;
  }
  return config;
}

/** kafkajs log lines into pino. kafkajs reports every retried failure as an error; we report outcomes, so those are warnings, rate-limited. */
function kafkaLogCreator(logger: Logger) {
  const limited = new RateLimitedLog(logger);
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _t, logger: _l, stack: _s, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR || level === logLevel.WARN) limited.warn(`${namespace}:${message}`, fields, message);
      else if (level === logLevel.INFO) logger.debug(fields, message);
      else logger.trace(fields, message);
    };
}

function kafkaLogLevel(logger: Logger): number {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  return logLevel.NOTHING;
}

export type ProducerFactory = (config: KafkaConfig, producer: ProducerConfig) => Producer;

const defaultProducerFactory: ProducerFactory = (config, producer) => new Kafka(config).producer(producer);

export function createKafkaTransport(options: KafkaOptions, ctx: TransportContext): Transport {
  return options.client === 'librdkafka' ? new RdKafkaTransport(options, ctx) : new KafkaTransport(options, ctx);
}

class SendTimeoutError extends Error {
  override name = 'KafkaJSSendTimeout';
}

export class KafkaTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;

  private readonly log: Logger;
  private readonly limited: RateLimitedLog;
  private readonly producer: Producer;
  private readonly compression: number;
  private readonly acks: number;
  private readonly connection: KafkaConnection;
  private closing = false;

  constructor(
    private readonly options: KafkaOptions,
    ctx: TransportContext,
    factory: ProducerFactory = defaultProducerFactory,
  ) {
    const problems = validateKafkaOptions(options);
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.key} ${p.message}`).join('; '));
    this.log = ctx.logger.child({ sink: ctx.name, transport: 'kafka' });
    this.limited = new RateLimitedLog(this.log);
    this.compression = compressionType(options.compression);
    this.acks = Number(options.acks);
    const config = kafkaClientConfig(options);
    config.logLevel = kafkaLogLevel(this.log);
    config.logCreator = kafkaLogCreator(this.log);
    this.producer = factory(config, {
      // Explicit, so kafkajs does not warn about its v2 default change: murmur2 like the Java client.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: options.allowAutoTopicCreation,
      idempotent: options.idempotent,
      maxInFlightRequests: options.maxInFlightRequests || undefined,
      retry: { retries: options.retry.retries, initialRetryTime: options.retry.initialRetryTimeMs, maxRetryTime: options.retry.maxRetryTimeMs },
    });
    this.connection = new KafkaConnection(
      this.log,
      this.limited,
      options.reconnectIntervalMs,
      () => this.producer.connect(),
      (up) => this.onStateChange?.(up),
    );
    this.producer.on(this.producer.events.CONNECT, () => this.connection.set(true));
    this.producer.on(this.producer.events.DISCONNECT, () => this.connection.set(false));
  }

  isConnected(): boolean {
    return this.connection.connected;
  }

  start(): Promise<void> {
    return this.connection.start(() => this.producer.connect(), this.options.failFast, asList(this.options.brokers), 'kafkajs');
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.producer.disconnect().catch(() => {});
    this.connection.close();
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    if (this.closing) throw new Error('Kafka transport closed');
    if (!this.connection.connected) throw new Error('Kafka: not connected to the cluster');
    const rejected: Array<{ message: OutboundMessage; reason: string }> = [];
    const sendable: OutboundMessage[] = [];
    for (const m of batch) {
      if (TOPIC_NAME.test(m.address.target)) sendable.push(m);
      else rejected.push({ message: m, reason: 'invalid_topic' });
    }
    if (sendable.length > 0) {
      try {
        await this.sendOnce(sendable);
      } catch (err) {
        if (!permanentRefusal(err)) throw this.failed(err);
        rejected.push(...(await this.isolate(sendable)));
      }
    }
    return rejected.length > 0 ? { rejected } : {};
  }

  /**
   * Splits a batch the broker refused for good until the refused records stand alone,
   * sending the rest. Parts already written before the refusal may be written again
   * (at-least-once), which only happens in this rare path.
   */
  private async isolate(batch: readonly OutboundMessage[]): Promise<Array<{ message: OutboundMessage; reason: string }>> {
    const rejected: Array<{ message: OutboundMessage; reason: string }> = [];
    const work: OutboundMessage[][] = groupByTopic(batch).map((g) => g.messages);
    while (work.length > 0) {
      const part = work.shift() as OutboundMessage[];
      try {
        await this.sendOnce(part);
        continue;
      } catch (err) {
        const refusal = permanentRefusal(err);
        if (!refusal) throw this.failed(err);
        // A topic-wide refusal covers the whole (single-topic) part; a record-level one is narrowed down.
        if (refusal.scope === 'topic' || part.length === 1) {
          for (const message of part) rejected.push({ message, reason: refusal.reason });
          this.limited.error(
            `refused:${refusal.reason}`,
            { reason: refusal.reason, topic: part[0]?.address.target, records: part.length },
            'Kafka refused records for good',
          );
        } else {
          const mid = part.length >> 1;
          work.unshift(part.slice(0, mid), part.slice(mid));
        }
      }
    }
    return rejected;
  }

  private async sendOnce(batch: readonly OutboundMessage[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SendTimeoutError(`Kafka: batch not acknowledged within ${this.options.sendTimeoutMs} ms`)),
        this.options.sendTimeoutMs,
      );
    });
    try {
      await Promise.race([
        this.producer.sendBatch({
          topicMessages: toTopicMessages(batch),
          acks: this.acks,
          timeout: this.options.ackTimeoutMs,
          compression: this.compression,
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Notes what a failed send says about the connection, and returns the error to throw. */
  private failed(err: unknown): Error {
    if (isConnectionError(err)) this.connection.lost();
    const e = err instanceof Error ? err : new Error(String(err));
    return e.message.startsWith('Kafka') ? e : new Error(`Kafka: ${e.message}`, { cause: e });
  }
}
