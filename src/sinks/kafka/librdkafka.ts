// Kafka transport on librdkafka (the optional node-rdkafka package): encoding, compression,
// CRCs and socket I/O run in librdkafka's own threads, so the gateway's thread only hands
// records over and counts delivery reports. Same options as the kafkajs transport.
import { createRequire } from 'node:module';
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import { messageHeaders } from '../shared/headers.js';
import type { OutboundMessage } from '../../record.js';
import { KafkaConnection } from './connection.js';
import { asList, resolveSecret, type TransportContext } from '../shared/transport-options.js';
import { TOPIC_NAME, librdkafkaProperties, type KafkaOptions } from './options.js';
import { SIZE_REFUSALS, type SendResult, type Transport } from '../transport.js';
import { UNKNOWN_TOPIC, UnknownTopics, type Attempt, type Refused } from './topics.js';

/** The part of node-rdkafka's API this transport uses (declared here: the package is optional). */
interface RdError extends Error {
  code: number;
}
interface RdDeliveryReport {
  topic: string;
  partition: number;
  offset: number;
  opaque?: unknown;
}
interface RdProducer {
  connect(options: { timeout?: number }, cb: (err: RdError | null) => void): unknown;
  disconnect(timeout: number, cb: () => void): unknown;
  getMetadata(
    options: { timeout?: number; topic?: string; allTopics?: boolean },
    cb: (err: RdError | null, metadata?: { topics: Array<{ name: string; partitions: unknown[] }> }) => void,
  ): unknown;
  produce(
    topic: string,
    partition: number | null,
    value: Buffer,
    key: Buffer | null,
    timestamp: number | null,
    opaque: unknown,
    headers: Array<Record<string, string>>,
  ): unknown;
  poll(): unknown;
  on(event: 'delivery-report', cb: (err: RdError | null, report: RdDeliveryReport) => void): unknown;
  on(event: 'event.error', cb: (err: RdError) => void): unknown;
}
interface RdModule {
  Producer: new (global: Record<string, unknown>, topic: Record<string, unknown>) => RdProducer;
  librdkafkaVersion: string;
}

/** librdkafka error codes the transport acts on (rdkafka.h). */
const ERR = {
  ALL_BROKERS_DOWN: -187,
  QUEUE_FULL: -184,
  MSG_SIZE_TOO_LARGE_LOCAL: -172, // ERR__MSG_SIZE_TOO_LARGE: larger than message.max.bytes
  UNKNOWN_TOPIC_LOCAL: -188, // ERR__UNKNOWN_TOPIC: librdkafka knows the topic does not exist
  UNKNOWN_TOPIC: 3, // ERR_UNKNOWN_TOPIC_OR_PART: the cluster says so
  INVALID_TOPIC: 17,
  MSG_SIZE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  TOPIC_AUTHORIZATION_FAILED: 29,
  INVALID_TIMESTAMP: 32,
  INVALID_RECORD: 87,
} as const;

/** Refusals that retrying cannot fix, with the reasons the kafkajs transport reports for them. */
const PERMANENT = new Map<number, string>([
  [ERR.MSG_SIZE_TOO_LARGE, 'message_too_large'],
  [ERR.MSG_SIZE_TOO_LARGE_LOCAL, 'message_too_large'],
  [ERR.RECORD_LIST_TOO_LARGE, 'record_list_too_large'],
  [ERR.INVALID_RECORD, 'invalid_record'],
  [ERR.INVALID_TIMESTAMP, 'invalid_timestamp'],
  [ERR.INVALID_TOPIC, 'invalid_topic_exception'],
  [ERR.TOPIC_AUTHORIZATION_FAILED, 'topic_authorization_failed'],
]);

/** Errors saying a topic does not exist: the records wait for it (topics.ts), then are refused. */
const TOPIC_MISSING = new Set<number>([ERR.UNKNOWN_TOPIC_LOCAL, ERR.UNKNOWN_TOPIC]);

/** The librdkafka error code of an error from node-rdkafka, also when it lost the code on the way. */
function errorCode(err: RdError): number {
  if (typeof err.code === 'number' && err.code !== -1) return err.code;
  return codeByMessage.get(err.message) ?? -1;
}


let loaded: { module?: RdModule; error?: string } | undefined;

/**
 * Error codes by message: node-rdkafka hands delivery-report errors over without their
 * code (-1), only librdkafka's text ("Broker: Message size too large", lower-cased after the colon).
 */
const codeByMessage = new Map<string, number>();

/** node-rdkafka, or why it cannot be loaded (it is an optional dependency with a native build). */
export function loadRdkafka(): { module?: RdModule; error?: string } {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    loaded = { module: require('node-rdkafka') as RdModule };
    try {
      const RdError = require('node-rdkafka/lib/error') as new (code: number) => Error;
      for (const code of [...PERMANENT.keys(), ...TOPIC_MISSING, ERR.ALL_BROKERS_DOWN]) {
        const text = new RdError(code).message.split(': ')[1];
        if (text) codeByMessage.set(text.toLowerCase(), code);
      }
    } catch {
      // Without the texts, refusals in delivery reports count as transient: retried, never lost.
    }
  } catch (err) {
    const message = (err as Error).message.split('\n')[0] ?? '';
    loaded = {
      error: `the optional package node-rdkafka cannot be loaded (${message}); it builds librdkafka from source: install a compiler and the headers (bash scripts/librdkafka-deps.sh), then npm rebuild node-rdkafka, or use client kafkajs`,
    };
  }
  return loaded;
}

/** Settings librdkafka may not take from our options, so they are refused at startup. */
export function rdkafkaProblems(o: KafkaOptions): Array<{ key: string; message: string }> {
  const problems: Array<{ key: string; message: string }> = [];
  if (o.tls.servername) problems.push({ key: 'tls.servername', message: 'is not supported with client librdkafka (it verifies the broker host name)' });
  const { error } = loadRdkafka();
  if (error) problems.push({ key: 'client', message: `librdkafka: ${error}` });
  return problems;
}

/** The librdkafka configuration (global and topic) for these options; librdkafkaOptions win. */
export function rdkafkaConfig(o: KafkaOptions): { global: Record<string, unknown>; topic: Record<string, unknown> } {
  const reconnectMax = Math.max(10, o.reconnectIntervalMs);
  const global: Record<string, unknown> = {
    'metadata.broker.list': asList(o.brokers).join(','),
    'client.id': o.clientId,
    // murmur2 on the key, like the Java client and the kafkajs transport: same key, same partition.
    partitioner: 'murmur2_random',
    'enable.idempotence': o.idempotent,
    // One produce request at a time per broker connection (unless maxInFlightRequests says
    // otherwise): librdkafka then retries a refused request before it sends the next one, so
    // records keep their order across its retries, like the kafkajs client's one request per batch.
    'max.in.flight.requests.per.connection': o.maxInFlightRequests || 1,
    'compression.codec': o.compression,
    'allow.auto.create.topics': o.allowAutoTopicCreation,
    // librdkafka holds records for a topic it does not know this long, then fails them.
    'topic.metadata.propagation.max.ms': o.unknownTopicWaitMs,
    'socket.connection.setup.timeout.ms': Math.max(1000, o.connectionTimeoutMs),
    'socket.timeout.ms': Math.max(10, o.requestTimeoutMs),
    // No retry count (librdkafka's default is unlimited): message.timeout.ms bounds the retries.
    // A count that ran out would fail a request's records while later ones of the partition go through.
    'retry.backoff.ms': Math.max(1, o.retry.initialRetryTimeMs),
    'retry.backoff.max.ms': Math.max(1, o.retry.initialRetryTimeMs, o.retry.maxRetryTimeMs),
    'reconnect.backoff.ms': Math.min(100, reconnectMax),
    'reconnect.backoff.max.ms': reconnectMax,
    // The sink hands over whole batches already; librdkafka's default 5 ms wait for more records
    // mostly delayed them (benchmark, one run each: 0 ms 26-38k, 0.5 ms 41-76k, 2 ms 56-66k,
    // 5 ms 35-54k records/s). librdkafkaOptions can still set it.
    'linger.ms': 2,
    dr_cb: true,
  };
  const sasl = o.sasl.mechanism !== 'none';
  global['security.protocol'] = o.tls.enabled ? (sasl ? 'sasl_ssl' : 'ssl') : sasl ? 'sasl_plaintext' : 'plaintext';
  if (o.tls.enabled) {
    if (o.tls.caFile) global['ssl.ca.location'] = o.tls.caFile;
    if (o.tls.certFile) global['ssl.certificate.location'] = o.tls.certFile;
    if (o.tls.keyFile) global['ssl.key.location'] = o.tls.keyFile;
    global['enable.ssl.certificate.verification'] = o.tls.rejectUnauthorized;
    global['ssl.endpoint.identification.algorithm'] = o.tls.rejectUnauthorized ? 'https' : 'none';
  }
  if (sasl) {
    global['sasl.mechanisms'] = o.sasl.mechanism.toUpperCase();
    global['sasl.username'] = o.sasl.username;
    global['sasl.password'] = resolveSecret(o.sasl.password, o.sasl.passwordFile, 'sasl.passwordFile');
  }
  Object.assign(global, librdkafkaProperties(o.librdkafkaOptions));
  const topic: Record<string, unknown> = {
    'request.required.acks': Number(o.acks),
    'request.timeout.ms': Math.max(1, o.ackTimeoutMs),
    // Every record gets its delivery report within this time, delivered or not.
    'message.timeout.ms': Math.max(1, o.sendTimeoutMs),
  };
  return { global, topic };
}

/** One send(): counts the delivery reports of its records. */
class Delivery {
  remaining: number;
  error: Error | undefined;
  readonly rejected: Refused = [];
  /** Records whose topic does not exist. */
  readonly missing: OutboundMessage[] = [];
  readonly done: Promise<Attempt>;
  private settle!: (e?: Error) => void;

  constructor(records: number) {
    this.remaining = records;
    this.done = new Promise<Attempt>((resolve, reject) => {
      this.settle = (e) => (e ? reject(e) : resolve(this));
    });
  }

  report(): void {
    if (--this.remaining === 0) this.settle(this.error);
  }

  /** Records settled without a report (refused before librdkafka had them, or never handed over). */
  skip(n: number): void {
    if (this.remaining <= 0) return;
    this.remaining -= n;
    if (this.remaining === 0) this.settle(this.error);
  }

  fail(err: Error): void {
    this.error ??= err;
  }

  abandon(err: Error): void {
    this.error ??= err;
    this.remaining = -1;
    this.settle(this.error);
  }
}

/** Delivery reports while records are in flight arrive this often; idle, events are polled slower. */
const BUSY_POLL_MS = 1;
const IDLE_POLL_MS = 200;

export class RdKafkaTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;

  private readonly log: Logger;
  private readonly limited: RateLimitedLog;
  private readonly producer: RdProducer;
  private readonly connection: KafkaConnection;
  private readonly unknownTopics: UnknownTopics;
  private closing = false;
  private started = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Delivery>();
  /** Header lists per path and sender: the same few objects for every record. */
  private readonly headerCache = new Map<string, Array<Record<string, string>>>();

  constructor(
    private readonly options: KafkaOptions,
    ctx: TransportContext,
  ) {
    const { module, error } = loadRdkafka();
    if (!module) throw new Error(`Kafka client librdkafka: ${error}`);
    this.log = ctx.logger.child({ sink: ctx.name, transport: 'kafka', client: 'librdkafka' });
    this.limited = new RateLimitedLog(this.log);
    const { global, topic } = rdkafkaConfig(options);
    this.producer = new module.Producer(global, topic);
    const timeout = Math.max(1000, options.connectionTimeoutMs);
    // Once connected, librdkafka reconnects by itself: a metadata answer shows it is back.
    const probe = (): Promise<void> =>
      this.started
        ? new Promise<void>((resolve, reject) => this.producer.getMetadata({ timeout }, (err) => (err ? reject(err) : resolve())))
        : this.connect();
    this.connection = new KafkaConnection(this.log, this.limited, options.reconnectIntervalMs, probe, (up) => this.onStateChange?.(up));
    this.producer.on('delivery-report', (err, report) => this.onReport(err, report));
    this.producer.on('event.error', (err) => this.onError(err));
    this.unknownTopics = new UnknownTopics({ waitMs: options.unknownTopicWaitMs, lookup: (topic) => this.topicExists(topic), log: this.limited });
    this.log.debug({ librdkafka: module.librdkafkaVersion }, 'librdkafka producer created');
  }

  isConnected(): boolean {
    return this.connection.connected;
  }

  start(): Promise<void> {
    return this.connection.start(() => this.connect(), this.options.failFast, asList(this.options.brokers), 'librdkafka');
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unknownTopics.close();
    clearTimeout(this.pollTimer);
    for (const d of this.pending) d.abandon(new Error('Kafka transport closed'));
    this.pending.clear();
    if (this.started) await new Promise<void>((resolve) => this.producer.disconnect(2000, () => resolve()));
    this.connection.close();
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    if (this.closing) throw new Error('Kafka transport closed');
    if (!this.connection.connected) throw new Error('Kafka: not connected to the cluster');
    const sentAt = Date.now();
    const { sendable, refused } = await this.unknownTopics.screen(batch);
    const rejected: Refused = refused.map((message) => ({ message, reason: UNKNOWN_TOPIC }));
    const first = await this.sendSized(sendable);
    rejected.push(...first.rejected);
    if (first.missing.length > 0) {
      rejected.push(...(await this.unknownTopics.deliverMissing(first.missing, sentAt, (records) => this.sendSized(records))));
    }
    return rejected.length > 0 ? { rejected } : {};
  }

  /**
   * Produces records and resolves once librdkafka reported on each. The broker sizes whole
   * record batches: one record too large refuses its batch-mates too, so each record refused
   * for its size goes again alone, and only the ones too large on their own stay refused.
   */
  private async sendSized(batch: readonly OutboundMessage[]): Promise<Attempt> {
    const result = await this.sendAll(batch);
    const sized = result.rejected.filter((r) => SIZE_REFUSALS.has(r.reason));
    if (sized.length <= 1) return result;
    const rejected = result.rejected.filter((r) => !SIZE_REFUSALS.has(r.reason));
    const missing = [...result.missing];
    for (const r of sized) {
      const alone = await this.sendAll([r.message]);
      rejected.push(...alone.rejected);
      missing.push(...alone.missing);
    }
    return { rejected, missing };
  }

  /** Produces every record and resolves once librdkafka reported on each. */
  private async sendAll(batch: readonly OutboundMessage[]): Promise<Attempt> {
    if (batch.length === 0) return { rejected: [], missing: [] }; // nothing would ever report on it
    const d = new Delivery(batch.length);
    this.pending.add(d);
    this.pollSoon();
    const timer = setTimeout(
      () => d.abandon(new Error(`Kafka: batch not acknowledged within ${this.options.sendTimeoutMs} ms`)),
      this.options.sendTimeoutMs + 5_000,
    );
    try {
      for (let i = 0; i < batch.length; i++) {
        const m = batch[i] as OutboundMessage;
        if (!TOPIC_NAME.test(m.address.target)) {
          d.rejected.push({ message: m, reason: 'invalid_topic' });
          d.skip(1);
          continue;
        }
        let outcome = this.produce(m, d);
        // librdkafka's queue is full: let delivery reports free it, then try again.
        while (outcome === 'queue-full') {
          this.producer.poll();
          await new Promise((r) => setTimeout(r, 2));
          outcome = d.remaining < 0 ? 'failed' : this.produce(m, d); // abandoned meanwhile: stop
        }
        if (outcome === 'failed') {
          d.skip(batch.length - i);
          break;
        }
      }
      return await d.done;
    } finally {
      clearTimeout(timer);
      this.pending.delete(d);
    }
  }

  /** Hands one record to librdkafka, synchronously: the hot path awaits nothing. */
  private produce(m: OutboundMessage, d: Delivery): 'ok' | 'queue-full' | 'failed' {
    try {
      this.producer.produce(m.address.target, null, m.payload, m.address.key ?? null, null, { d, m }, this.headersOf(m));
      return 'ok';
    } catch (err) {
      const code = errorCode(err as RdError);
      if (code === ERR.QUEUE_FULL) return 'queue-full';
      if (TOPIC_MISSING.has(code)) {
        d.missing.push(m);
        d.skip(1);
        return 'ok';
      }
      const reason = PERMANENT.get(code);
      if (reason === undefined) {
        d.fail(new Error(`Kafka: ${(err as Error).message}`));
        return 'failed';
      }
      d.rejected.push({ message: m, reason });
      d.skip(1);
      return 'ok';
    }
  }

  private headersOf(m: OutboundMessage): Array<Record<string, string>> {
    if (m.headers) return Object.entries(messageHeaders(m)).map(([k, v]) => ({ [k]: v }));
    const cacheKey = m.record.sender === undefined ? m.record.path : `${m.record.path}\u0000${m.record.sender}`;
    let list = this.headerCache.get(cacheKey);
    if (list === undefined) {
      list = Object.entries(messageHeaders(m)).map(([k, v]) => ({ [k]: v }));
      if (this.headerCache.size < 10_000) this.headerCache.set(cacheKey, list);
    }
    return list;
  }

  private onReport(err: RdError | null, report: RdDeliveryReport): void {
    const { d, m } = report.opaque as { d: Delivery; m: OutboundMessage };
    if (d.remaining <= 0) return; // the send gave up already
    if (err) {
      const code = errorCode(err);
      const reason = PERMANENT.get(code);
      if (TOPIC_MISSING.has(code)) d.missing.push(m);
      else if (reason !== undefined) {
        d.rejected.push({ message: m, reason });
        this.limited.error(`refused:${reason}`, { reason, topic: m.address.target }, 'Kafka refused records for good');
      } else d.fail(new Error(`Kafka: ${err.message}`));
    }
    d.report();
  }

  private onError(err: RdError): void {
    const code = errorCode(err);
    if (code === ERR.ALL_BROKERS_DOWN) {
      this.connection.lost();
      // Records queued in librdkafka keep their message timeout; sends fail fast until reconnected.
    }
    this.limited.warn(`error:${code}`, { err: err.message, code }, 'librdkafka error');
  }

  /** Whether the cluster has the topic: a metadata request for it alone. */
  private topicExists(topic: string): Promise<boolean> {
    const timeout = Math.max(1000, this.options.requestTimeoutMs);
    return new Promise((resolve, reject) =>
      this.producer.getMetadata({ topic, allTopics: false, timeout }, (err, metadata) =>
        err ? reject(err) : resolve((metadata?.topics.find((t) => t.name === topic)?.partitions.length ?? 0) > 0),
      ),
    );
  }

  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.producer.connect({ timeout: Math.max(1000, this.options.connectionTimeoutMs) }, (err) => {
        if (err) return reject(err);
        this.started = true;
        this.connection.set(true);
        this.pollSoon();
        resolve();
      }),
    );
  }

  /** Polls for delivery reports and events: often while records are in flight, slowly otherwise. */
  private pollSoon(): void {
    if (this.closing || !this.started) return;
    const busy = this.pending.size > 0;
    if (this.pollTimer !== undefined) {
      if (!busy) return;
      clearTimeout(this.pollTimer);
    }
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      try {
        this.producer.poll();
      } catch (err) {
        this.limited.warn('poll', { err: (err as Error).message }, 'librdkafka poll failed');
      }
      this.pollSoon();
    }, busy ? BUSY_POLL_MS : IDLE_POLL_MS);
    this.pollTimer.unref();
  }
}
