// Kafka transport: one kafkajs producer, one sendBatch per batch, permanent per-record
// refusals isolated by splitting instead of failing the batch forever; a topic that does not
// exist waits for it and is then refused (topics.ts) while the other topics are delivered.
import kafkajs from 'kafkajs';
import type { Admin, KafkaConfig, LogEntry, Message, Producer, ProducerConfig, SASLOptions, TopicMessages } from 'kafkajs';
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import { compressionType } from './compression.js';
import { KafkaConnection } from './connection.js';
import { TOPIC_NAME, kafkaOptionProblems, type KafkaOptions } from './options.js';
import { UNKNOWN_TOPIC, UnknownTopics, groupByTopic, type Refused, type TopicLookup } from './topics.js';
import { messageHeaders } from '../shared/headers.js';
import type { OutboundMessage } from '../../record.js';
import { asList, loadTls, resolveSecret, type TransportContext } from '../shared/transport-options.js';
import type { SendResult, Transport } from '../transport.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

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

/** Whether a (possibly wrapped) kafkajs error says a topic does not exist. */
export function topicMissing(err: unknown): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    e = e.cause as typeof e;
  }
  return false;
}

function isConnectionError(err: unknown): boolean {
  for (let e = err as { name?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.name && CONNECTION_ERRORS.has(e.name)) return true;
    if (e.message === 'The producer is disconnected') return true;
    e = e.cause as typeof e;
  }
  return false;
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

/** Topic lookups through a kafkajs admin client, connected at the first lookup (only a missing topic needs one). */
class AdminLookup {
  private admin: Promise<Admin> | undefined;
  private closed = false;

  constructor(private readonly config: KafkaConfig) {}

  readonly exists: TopicLookup = async (topic) => {
    if (this.closed) throw new Error('Kafka transport closed');
    this.admin ??= this.connect();
    try {
      // An admin client never auto-creates: a missing topic is UNKNOWN_TOPIC_OR_PARTITION.
      await (await this.admin).fetchTopicMetadata({ topics: [topic] });
      return true;
    } catch (err) {
      if (topicMissing(err)) return false;
      throw err;
    }
  };

  async close(): Promise<void> {
    this.closed = true;
    const admin = await this.admin?.catch(() => undefined);
    await admin?.disconnect().catch(() => {});
  }

  private async connect(): Promise<Admin> {
    const admin = new Kafka(this.config).admin();
    try {
      await admin.connect();
      return admin;
    } catch (err) {
      this.admin = undefined;
      throw err;
    }
  }
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
  private readonly adminLookup: AdminLookup | undefined;
  private readonly unknownTopics: UnknownTopics;
  private closing = false;

  constructor(
    private readonly options: KafkaOptions,
    ctx: TransportContext,
    factory: ProducerFactory = defaultProducerFactory,
    /** How to ask whether a topic exists; by default a kafkajs admin client. */
    lookup?: TopicLookup,
  ) {
    const problems = kafkaOptionProblems(options);
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
    if (!lookup) this.adminLookup = new AdminLookup(config);
    this.unknownTopics = new UnknownTopics({
      waitMs: options.unknownTopicWaitMs,
      lookup: lookup ?? (this.adminLookup as AdminLookup).exists,
      log: this.limited,
    });
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
    // The connection first: the producer's disconnect event is then no lost connection to report.
    this.connection.close();
    this.unknownTopics.close();
    await Promise.all([this.producer.disconnect().catch(() => {}), this.adminLookup?.close()]);
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    if (this.closing) throw new Error('Kafka transport closed');
    if (!this.connection.connected) throw new Error('Kafka: not connected to the cluster');
    const sentAt = Date.now();
    const rejected: Refused = [];
    const named: OutboundMessage[] = [];
    for (const m of batch) {
      if (TOPIC_NAME.test(m.address.target)) named.push(m);
      else rejected.push({ message: m, reason: 'invalid_topic' });
    }
    const { sendable, refused } = await this.unknownTopics.screen(named);
    for (const message of refused) rejected.push({ message, reason: UNKNOWN_TOPIC });
    if (sendable.length > 0) {
      try {
        await this.sendOnce(sendable);
      } catch (err) {
        if (!permanentRefusal(err) && !topicMissing(err)) throw this.failed(err);
        const first = await this.isolate(sendable);
        rejected.push(...first.rejected);
        const again = (records: OutboundMessage[]) => this.isolate(records);
        rejected.push(...(await this.unknownTopics.deliverMissing(first.missing, sentAt, again)));
      }
    }
    return rejected.length > 0 ? { rejected } : {};
  }

  /**
   * Sends a batch the broker refused in part topic by topic, splitting a part refused for
   * good until the refused records stand alone. Returns the refused records and the records
   * whose topic does not exist. Parts already written before the refusal may be written
   * again (at-least-once), which only happens in this rare path.
   */
  private async isolate(batch: readonly OutboundMessage[]): Promise<{ rejected: Refused; missing: OutboundMessage[] }> {
    const rejected: Refused = [];
    const missing: OutboundMessage[] = [];
    const work: OutboundMessage[][] = groupByTopic(batch).map((g) => g.messages);
    while (work.length > 0) {
      const part = work.shift() as OutboundMessage[];
      try {
        await this.sendOnce(part);
        continue;
      } catch (err) {
        const refusal = permanentRefusal(err);
        if (!refusal && topicMissing(err)) {
          missing.push(...part);
          continue;
        }
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
    return { rejected, missing };
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
