// Kafka transport on kafkajs: one producer, one sendBatch per batch; the batch logic (refusals
// isolated, unknown topics waited for, then refused) is shared with @platformatic/kafka in batch.ts.
import kafkajs from 'kafkajs';
import type { Admin, KafkaConfig, LogEntry, Message, Producer, ProducerConfig, SASLOptions, TopicMessages } from 'kafkajs';
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import { compressionType } from './compression.js';
import { skipIdleRequestChecks } from './kafkajs-request-queue.js';
import { BatchKafkaTransport, errorsIn, topicMissing } from './batch.js';
import type { KafkaOptions } from './options.js';
import { groupByTopic, type TopicLookup } from './topics.js';
import { messageHeaders } from '../shared/headers.js';
import type { OutboundMessage } from '../../record.js';
import { asList, loadTls, resolveSecret, type TransportContext } from '../shared/transport-options.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

skipIdleRequestChecks();

/** Errors meaning the cluster is out of reach (as opposed to refusing something). */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSSendTimeout',
]);

export { permanentRefusal, topicMissing } from './batch.js';

function isConnectionError(err: unknown): boolean {
  for (const e of errorsIn(err)) {
    if (e.name && CONNECTION_ERRORS.has(e.name)) return true;
    if (e.message === 'The producer is disconnected') return true;
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

export class KafkaTransport extends BatchKafkaTransport {
  private readonly producer: Producer;
  private readonly compression: number;
  private readonly acks: number;
  private readonly adminLookup: AdminLookup | undefined;
  private readonly lookup: TopicLookup;

  constructor(
    options: KafkaOptions,
    ctx: TransportContext,
    factory: ProducerFactory = defaultProducerFactory,
    /** How to ask whether a topic exists; by default a kafkajs admin client. */
    lookup?: TopicLookup,
  ) {
    super(options, ctx, 'kafkajs');
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
    this.producer.on(this.producer.events.CONNECT, () => this.connection.set(true));
    this.producer.on(this.producer.events.DISCONNECT, () => this.connection.set(false));
    if (!lookup) this.adminLookup = new AdminLookup(config);
    this.lookup = lookup ?? (this.adminLookup as AdminLookup).exists;
  }

  start(): Promise<void> {
    return this.connection.start(() => this.producer.connect(), this.options.failFast, asList(this.options.brokers), 'kafkajs');
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // The connection first: the producer's disconnect event is then no lost connection to report.
    this.closeShared();
    await Promise.all([this.producer.disconnect().catch(() => {}), this.adminLookup?.close()]);
  }

  protected reconnect(): Promise<void> {
    return this.producer.connect();
  }

  protected isConnectionError(err: unknown): boolean {
    return isConnectionError(err);
  }

  protected topicExists(topic: string): Promise<boolean> {
    return this.lookup(topic);
  }

  protected async produce(batch: readonly OutboundMessage[]): Promise<void> {
    await this.producer.sendBatch({
      topicMessages: toTopicMessages(batch),
      acks: this.acks,
      timeout: this.options.ackTimeoutMs,
      compression: this.compression,
    });
  }
}
