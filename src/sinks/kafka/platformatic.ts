// Kafka transport on @platformatic/kafka: pure TypeScript, no native build, one produce call per
// batch like the kafkajs transport (whose batch logic it shares), and several times less CPU per
// record than kafkajs (README, Performance). Same options as the other clients.
import { Producer, compatibilityPartitioner, type ProducerOptions } from '@platformatic/kafka';
import type { OutboundMessage } from '../../record.js';
import { messageHeaders } from '../shared/headers.js';
import { asList, loadTls, resolveSecret, type TransportContext } from '../shared/transport-options.js';
import { BatchKafkaTransport, errorsIn, topicMissing } from './batch.js';
import type { KafkaOptions } from './options.js';

type Headers = Map<Buffer, Buffer>;
type BufferProducerOptions = ProducerOptions<Buffer, Buffer, Buffer, Buffer>;

/** @platformatic/kafka's codes for an unreachable cluster (as opposed to a refusal). */
const CONNECTION_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

const SASL_MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** The @platformatic/kafka producer options for these options. */
export function platformaticProducerOptions(o: KafkaOptions): BufferProducerOptions {
  const initial = Math.max(1, o.retry.initialRetryTimeMs);
  const max = Math.max(initial, o.retry.maxRetryTimeMs);
  const config: BufferProducerOptions = {
    clientId: o.clientId,
    bootstrapBrokers: asList(o.brokers),
    connectTimeout: o.connectionTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    // The produce timeout the broker waits for the in-sync replicas.
    timeout: o.ackTimeoutMs,
    retries: o.retry.retries,
    // Exponential from initialRetryTimeMs up to maxRetryTimeMs, as the kafkajs client backs off.
    retryDelay: (_client, _op, attempt) => Math.min(max, initial * 2 ** (attempt - 1)),
    acks: Number(o.acks),
    idempotent: o.idempotent,
    autocreateTopics: o.allowAutoTopicCreation,
    // murmur2 on the key masked like the Java client (and kafkajs):
    // the same key lands on the same partition whichever client wrote it.
    partitioner: compatibilityPartitioner,
    // Keeps the socket's write buffer from growing without bound under a slow broker.
    handleBackPressure: true,
  };
  if (o.maxInFlightRequests > 0) config.maxInflights = o.maxInFlightRequests;
  if (o.compression !== 'none') config.compression = o.compression;
  if (o.tls.enabled) {
    config.tls = loadTls(o.tls);
    if (o.tls.servername) config.tlsServerName = o.tls.servername;
  }
  if (o.sasl.mechanism !== 'none') {
    config.sasl = {
      mechanism: SASL_MECHANISMS[o.sasl.mechanism],
      username: o.sasl.username,
      password: resolveSecret(o.sasl.password, o.sasl.passwordFile, 'sasl.passwordFile'),
    };
  }
  return config;
}

export class PlatformaticKafkaTransport extends BatchKafkaTransport {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** Header maps per path and sender: the same few maps (and buffers) for every record. */
  private readonly headerCache = new Map<string, Headers>();

  constructor(options: KafkaOptions, ctx: TransportContext) {
    super(options, ctx, 'platformatic');
    this.producer = new Producer(platformaticProducerOptions(options));
    // A broker connection that closes under us: down until a metadata request answers again.
    this.producer.on('client:broker:disconnect', () => {
      if (!this.closing && !this.producer.isConnected()) this.connection.lost();
    });
  }

  start(): Promise<void> {
    const connect = async (): Promise<void> => {
      await this.reconnect();
      this.connection.set(true);
    };
    return this.connection.start(connect, this.options.failFast, asList(this.options.brokers), 'platformatic');
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.closeShared();
    await this.producer.close().catch(() => {});
  }

  /** The client connects lazily: a metadata request shows that the cluster answers. */
  protected async reconnect(): Promise<void> {
    await this.producer.metadata({ topics: [], forceUpdate: true });
  }

  /** A metadata request that must not create the topic: a missing one is UNKNOWN_TOPIC_OR_PARTITION. */
  protected async topicExists(topic: string): Promise<boolean> {
    try {
      await this.producer.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true });
      return true;
    } catch (err) {
      if (topicMissing(err)) return false;
      throw err;
    }
  }

  protected isConnectionError(err: unknown): boolean {
    for (const e of errorsIn(err)) if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
    return false;
  }

  protected async produce(batch: readonly OutboundMessage[]): Promise<void> {
    // In batch order: the client keeps it within each partition.
    const messages = batch.map((m) => ({ topic: m.address.target, value: m.payload, key: m.address.key ?? undefined, headers: this.headersOf(m) }));
    await this.producer.send({ messages });
  }

  private headersOf(m: OutboundMessage): Headers {
    if (m.headers) return toHeaderMap(messageHeaders(m));
    // Collision-free: ingress admits only printable ASCII paths (pathProblem), never a NUL.
    const cacheKey = m.record.sender === undefined ? m.record.path : `${m.record.path}\u0000${m.record.sender}`;
    let headers = this.headerCache.get(cacheKey);
    if (headers === undefined) {
      headers = toHeaderMap(messageHeaders(m));
      if (this.headerCache.size < 10_000) this.headerCache.set(cacheKey, headers);
    }
    return headers;
  }
}

function toHeaderMap(headers: Record<string, string>): Headers {
  return new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
}
