// Integration-test access to the local brokers that `bash scripts/brokers.sh up` starts.
// Tests call requireRabbitMQ()/requireKafka() first: a missing broker fails the test with the
// command to run; integration tests never skip.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, MessageProperties, Options, RecoveringChannelModel, RecoveryOptions, SocketOptions } from 'amqplib';
import kafkajs from 'kafkajs';
import type { IHeaders, KafkaConfig, Message, SASLOptions } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const env = process.env;
const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));
const START_HINT = 'start the local brokers with: bash scripts/brokers.sh up';

// ---------------------------------------------------------------------------------------------
// Connection settings (env overrides, defaults match scripts/rabbitmq.sh and scripts/kafka.sh)

export const AMQP_URL = env.ZLG_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const AMQPS_URL = env.ZLG_TEST_AMQPS_URL ?? 'amqps://guest:guest@127.0.0.1:5671';
const list = (v: string | undefined, dflt: string): string[] => (v ?? dflt).split(',').map((s) => s.trim());
export const KAFKA_BROKERS = list(env.ZLG_TEST_KAFKA_BROKERS, '127.0.0.1:9092');
export const KAFKA_SSL_BROKERS = list(env.ZLG_TEST_KAFKA_SSL_BROKERS, '127.0.0.1:9093');
export const KAFKA_SASL_BROKERS = list(env.ZLG_TEST_KAFKA_SASL_BROKERS, '127.0.0.1:9094');
/** User for all three SASL mechanisms on the SASL_SSL listener (created by scripts/kafka.sh). */
export const KAFKA_SASL_USER = env.ZLG_TEST_KAFKA_SASL_USER ?? 'zlg';
export const KAFKA_SASL_PASSWORD = env.ZLG_TEST_KAFKA_SASL_PASSWORD ?? 'zlg-secret';

/** Folder of the test CA and certificates made by scripts/certs.sh. */
export const CERT_DIR = env.ZLG_TEST_CERT_DIR ?? join(env.ZLG_STATE ?? '/tmp/zeek-log-gateway-brokers', 'certs');
export const CA_FILE = join(CERT_DIR, 'ca.pem');
export const CLIENT_CERT_FILE = join(CERT_DIR, 'client.pem');
export const CLIENT_KEY_FILE = join(CERT_DIR, 'client.key');

/** TLS options that trust the test CA; with a client certificate when asked. */
export function tlsOptions(clientCert = false): { ca: Buffer[]; cert?: Buffer; key?: Buffer } {
  const ca = [readFileSync(CA_FILE)];
  return clientCert ? { ca, cert: readFileSync(CLIENT_CERT_FILE), key: readFileSync(CLIENT_KEY_FILE) } : { ca };
}

export type AmqpEndpoint = 'plain' | 'tls' | 'tls-client-cert';

/** URL and socket options for one of RabbitMQ's listeners. */
export function amqpEndpoint(kind: AmqpEndpoint = 'plain'): { url: string; socketOptions: SocketOptions } {
  if (kind === 'plain') return { url: AMQP_URL, socketOptions: {} };
  return { url: AMQPS_URL, socketOptions: tlsOptions(kind === 'tls-client-cert') };
}

export type KafkaEndpoint =
  | 'plaintext'
  | 'ssl'
  | 'ssl-client-cert'
  | 'sasl-plain'
  | 'sasl-scram-sha-256'
  | 'sasl-scram-sha-512';

/** brokers/ssl/sasl for one of Kafka's listeners, ready to spread into a KafkaConfig. */
export function kafkaEndpoint(kind: KafkaEndpoint = 'plaintext'): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  if (kind === 'plaintext') return { brokers: KAFKA_BROKERS };
  if (kind === 'ssl' || kind === 'ssl-client-cert') {
    return { brokers: KAFKA_SSL_BROKERS, ssl: tlsOptions(kind === 'ssl-client-cert') };
  }
  const mechanism = kind.slice('sasl-'.length) as 'plain' | 'scram-sha-256' | 'scram-sha-512';
  const sasl = { mechanism, username: KAFKA_SASL_USER, password: KAFKA_SASL_PASSWORD } as SASLOptions;
  return { brokers: KAFKA_SASL_BROKERS, ssl: tlsOptions(), sasl };
}

/** A name no other test run uses: `zlg-test-<prefix>-<time>-<random>`. */
export function uniqueName(prefix = 'x'): string {
  return `zlg-test-${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Reachability: fail (never skip) when a broker is down

function reason(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** Throws, naming the script to run, unless RabbitMQ accepts an AMQP connection. */
export async function requireRabbitMQ(url = AMQP_URL): Promise<void> {
  try {
    const conn = await amqp.connect(url, { timeout: 5000 });
    await conn.close();
  } catch (err) {
    throw new Error(`RabbitMQ is not reachable at ${url} (${reason(err)}); ${START_HINT} rabbitmq`);
  }
}

/** Throws, naming the script to run, unless Kafka answers a metadata request. */
export async function requireKafka(brokers = KAFKA_BROKERS): Promise<void> {
  const admin = kafkaClient({ brokers, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (err) {
    throw new Error(`Kafka is not reachable at ${brokers.join(',')} (${reason(err)}); ${START_HINT} kafka`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ

export interface AmqpMessage {
  content: Buffer;
  properties: MessageProperties;
  /** properties.headers, or {} when the message had none. */
  headers: Record<string, unknown>;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
}

// amqplib throws an 'error' event nobody listens to (e.g. a channel closed by the broker for a
// missing queue) as an uncaught exception; the failing operation's promise already rejects.
const ignore = (): void => undefined;

async function withAmqp<T>(url: string, socketOptions: SocketOptions, fn: (ch: Channels) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(url, { timeout: 5000, ...socketOptions });
  conn.on('error', ignore);
  try {
    return await fn({
      channel: async () => (await conn.createChannel()).on('error', ignore),
      confirmChannel: async () => (await conn.createConfirmChannel()).on('error', ignore),
    });
  } finally {
    await conn.close().catch(ignore);
  }
}

interface Channels {
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
}

export interface DeclareQueueOptions {
  /** Type used when the exchange has to be declared; default 'topic'. */
  exchangeType?: string;
  /** Durable queue (survives rabbitStopApp/rabbitStartApp); default true. */
  durable?: boolean;
  url?: string;
}

/**
 * Declares a uniquely named queue bound to `exchange` with `bindingKey` and returns its name.
 * The exchange is declared (durable) if missing; the default exchange '' is never bound. The
 * queue deletes itself after 10 minutes without consumers, so abandoned test queues go away.
 */
export async function declareTestQueue(exchange: string, bindingKey = '#', opts: DeclareQueueOptions = {}): Promise<string> {
  const queue = uniqueName('q');
  await withAmqp(opts.url ?? AMQP_URL, {}, async (open) => {
    const ch = await open.channel();
    await ch.assertQueue(queue, { durable: opts.durable ?? true, arguments: { 'x-expires': 600_000 } });
    if (exchange !== '') {
      await ch.assertExchange(exchange, opts.exchangeType ?? 'topic', { durable: true });
      await ch.bindQueue(queue, exchange, bindingKey);
    }
  });
  return queue;
}

/** Publishes with publisher confirms; resolves once the broker has confirmed every message. */
export async function publishAmqp(
  exchange: string,
  routingKey: string,
  contents: (Buffer | string)[],
  options: Options.Publish = {},
  endpoint: AmqpEndpoint = 'plain',
): Promise<void> {
  const { url, socketOptions } = amqpEndpoint(endpoint);
  await withAmqp(url, socketOptions, async (open) => {
    const ch = await open.confirmChannel();
    for (const c of contents) ch.publish(exchange, routingKey, Buffer.from(c), options);
    await ch.waitForConfirms();
  });
}

export interface CollectOptions {
  /** Resolve once this many arrived; reject if they have not within timeoutMs. Without count:
   *  resolve with whatever arrived within timeoutMs (e.g. to check that nothing did). */
  count?: number;
  /** Default 10 s with a count, 1 s without. */
  timeoutMs?: number;
}

function collectTimeout(opts: CollectOptions): number {
  return opts.timeoutMs ?? (opts.count === undefined ? 1000 : 10_000);
}

/**
 * Consumes from `queue` and acks up to `count` messages; any beyond that are left in the queue.
 */
export async function collectAmqp(
  queue: string,
  opts: CollectOptions & { endpoint?: AmqpEndpoint; /** another broker than the local one, e.g. a container's */ url?: string } = {},
): Promise<AmqpMessage[]> {
  const { url, socketOptions } = opts.url ? { url: opts.url, socketOptions: {} } : amqpEndpoint(opts.endpoint);
  const want = opts.count ?? Infinity;
  const timeoutMs = collectTimeout(opts);
  return withAmqp(url, socketOptions, async (open) => {
    const ch = await open.channel();
    // Prefetch bounds what is delivered, so unacked extras go back to the queue on close.
    await ch.prefetch(Number.isFinite(want) ? Math.max(1, Math.min(want, 1000)) : 1000);
    const got: AmqpMessage[] = [];
    let consumerTag = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (opts.count === undefined) resolve();
        else reject(new Error(`expected ${want} message(s) on queue ${queue} within ${timeoutMs} ms, got ${got.length}`));
      }, timeoutMs);
      ch.consume(queue, (msg: ConsumeMessage | null) => {
        if (msg === null) {
          clearTimeout(timer);
          reject(new Error(`consumer on ${queue} was cancelled by the broker`));
          return;
        }
        if (got.length >= want) return;
        ch.ack(msg);
        got.push({
          content: msg.content,
          properties: msg.properties,
          headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
          exchange: msg.fields.exchange,
          routingKey: msg.fields.routingKey,
          redelivered: msg.fields.redelivered,
        });
        if (got.length === want) {
          clearTimeout(timer);
          resolve();
        }
      }).then((r) => (consumerTag = r.consumerTag), (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    if (consumerTag) await ch.cancel(consumerTag).catch(ignore);
    return got;
  });
}

// ---------------------------------------------------------------------------------------------
// Kafka

/** A kafkajs client with quiet logs and short timeouts; `config` overrides (e.g. kafkaEndpoint()). */
export function kafkaClient(config: Partial<KafkaConfig> = {}): InstanceType<typeof Kafka> {
  return new Kafka({
    brokers: KAFKA_BROKERS,
    clientId: 'zlg-test',
    connectionTimeout: 5000,
    requestTimeout: 10_000,
    logLevel: logLevel.NOTHING,
    ...config,
  });
}

export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

/** Produces `messages` (acks=all) and resolves when the broker has acknowledged them. */
export async function produceKafka(topic: string, messages: Message[], config: Partial<KafkaConfig> = {}): Promise<void> {
  const producer = kafkaClient(config).producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Creates missing topics and waits for their leaders; existing ones are left as they are.
 * `topicConfig`: topic settings (e.g. max.message.bytes).
 */
export async function createKafkaTopics(
  topics: string[],
  numPartitions = 1,
  config: Partial<KafkaConfig> = {},
  topicConfig: Record<string, string> = {},
): Promise<void> {
  const admin = kafkaClient(config).admin();
  const configEntries = Object.entries(topicConfig).map(([name, value]) => ({ name, value }));
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions, configEntries })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** How many records `topic` holds: the sum over its partitions of their end offset minus start offset. */
export async function kafkaRecordCount(topic: string, config: Partial<KafkaConfig> = {}): Promise<number> {
  const admin = kafkaClient(config).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Consumes `topic` in a fresh consumer group. fromBeginning defaults to true: with false, records
 * produced before the group has joined are missed. Same count/timeout rules as collectAmqp.
 */
export async function collectKafka(
  topic: string,
  opts: CollectOptions & {
    fromBeginning?: boolean;
    config?: Partial<KafkaConfig>;
    /** How many of `count` a message makes (NDJSON messages: their lines); default 1. */
    weight?: (r: KafkaRecord) => number;
  } = {},
): Promise<KafkaRecord[]> {
  const want = opts.count ?? Infinity;
  const timeoutMs = collectTimeout(opts);
  // Subscribing to a topic that auto-creation has only just made fails while it has no leader,
  // so make sure it exists (and has one) first.
  await createKafkaTopics([topic], 1, opts.config);
  // A short fetch long-poll: disconnect waits for the poll in flight.
  const consumer = kafkaClient(opts.config).consumer({ groupId: uniqueName('group'), maxWaitTimeInMs: 250 });
  const got: KafkaRecord[] = [];
  let counted = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning ?? true });
    await new Promise<void>((resolve, reject) => {
      // The timer includes joining the group (about a second on the local broker).
      const timer = setTimeout(() => {
        if (opts.count === undefined) resolve();
        else reject(new Error(`expected ${want} record(s) on topic ${topic} within ${timeoutMs} ms, got ${counted}`));
      }, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            if (counted >= want) return;
            const r: KafkaRecord = {
              topic: t,
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers: message.headers ?? {},
              timestamp: message.timestamp,
            };
            got.push(r);
            counted += opts.weight ? opts.weight(r) : 1;
            if (counted >= want) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// Broker control for fault tests. Each resolves once the state is reached (the scripts wait).

const execFileP = promisify(execFile);

async function runScript(script: string, command: string): Promise<void> {
  try {
    await execFileP('bash', [join(SCRIPTS, script), command], { timeout: 120_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`bash scripts/${script} ${command} failed: ${reason(err)}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** `rabbitmqctl stop_app`: every connection drops and the listeners close; the node stays up. */
export const rabbitStopApp = (): Promise<void> => runScript('rabbitmq.sh', 'stop-app');
/** `rabbitmqctl start_app`; resolves when both AMQP listeners accept connections again. */
export const rabbitStartApp = (): Promise<void> => runScript('rabbitmq.sh', 'start-app');
/** Force-closes every client connection (the broker keeps running). */
export const rabbitCloseConnections = (): Promise<void> => runScript('rabbitmq.sh', 'close-connections');
/** SIGKILLs the Kafka broker; resolves when its ports are closed. */
export const kafkaKill = (): Promise<void> => runScript('kafka.sh', 'kill');
/** Starts Kafka again on the same data; resolves when every listener answers. */
export const kafkaStart = (): Promise<void> => runScript('kafka.sh', 'start');

/** Messages ready in a queue. */
export async function queueDepth(queue: string): Promise<number> {
  return withAmqp(AMQP_URL, {}, async (open) => (await (await open.channel()).checkQueue(queue)).messageCount);
}

/** Everything in `queue` (once nothing publishes to it any more), emptying it. */
export async function drainQueue(queue: string, timeoutMs = 120_000): Promise<AmqpMessage[]> {
  const count = await queueDepth(queue);
  return count === 0 ? [] : collectAmqp(queue, { count, timeoutMs });
}

const rabbitmqctl = async (...args: string[]): Promise<string> =>
  (await execFileP('rabbitmqctl', ['-q', ...args], { timeout: 60_000, env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin` } })).stdout;

/**
 * The broker closes the client connections named `connectionName` (a client property; the
 * gateway's is `zeek-log-gateway:<sink>`) and only those: other tests' connections stay up.
 * Resolves with how many it closed. About 5 s (two rabbitmqctl calls).
 */
export async function rabbitCloseConnection(connectionName: string): Promise<number> {
  const listing = await rabbitmqctl('list_connections', 'pid', 'client_properties');
  const pids = listing
    .split('\n')
    .filter((line) => line.includes(`"connection_name","${connectionName}"`) || line.includes(`<<"${connectionName}">>`))
    .map((line) => line.split('\t')[0] as string);
  for (const pid of pids) await rabbitmqctl('close_connection', pid, 'closed by a zeek-log-gateway test');
  return pids.length;
}

/**
 * A RabbitMQ user on vhost '/' that may configure and read everything but write only to
 * exchanges matching `writePattern` (a regular expression, as rabbitmqctl set_permissions takes
 * it). Returns its URL and a remover. About 10 s (rabbitmqctl calls).
 */
export async function rabbitTestUser(writePattern: string): Promise<{ url: string; remove(): Promise<void> }> {
  const user = uniqueName('user');
  const password = randomBytes(9).toString('hex');
  await rabbitmqctl('add_user', user, password);
  await rabbitmqctl('set_permissions', '-p', '/', user, '.*', writePattern, '.*');
  return {
    url: `amqp://${user}:${password}@127.0.0.1:5672`,
    remove: async () => void (await rabbitmqctl('delete_user', user)),
  };
}

/**
 * Sets RabbitMQ's max_message_size (a node-wide setting channels read when they open) and
 * returns how to put the previous value back. It affects every client of the broker: a test
 * that uses it takes the broker lock exclusively.
 */
export async function rabbitMaxMessageSize(bytes: number): Promise<{ restore(): Promise<void> }> {
  const previous = /\{ok,(\d+)\}/.exec(await rabbitmqctl('eval', 'application:get_env(rabbit, max_message_size).'))?.[1];
  if (previous === undefined) throw new Error('cannot read RabbitMQ max_message_size');
  await rabbitmqctl('eval', `application:set_env(rabbit, max_message_size, ${bytes}).`);
  return { restore: async () => void (await rabbitmqctl('eval', `application:set_env(rabbit, max_message_size, ${previous}).`)) };
}

/**
 * A connect function for AmqpTransport that connects for real and counts the channels the
 * transport opens (a retry storm opens one per retry).
 */
export function countingAmqpConnect(): {
  connect: (url: Options.Connect, so: SocketOptions & { recovery: RecoveryOptions }) => Promise<RecoveringChannelModel>;
  channels(): number;
} {
  let channels = 0;
  const connect = (url: Options.Connect, so: SocketOptions & { recovery: RecoveryOptions }): Promise<RecoveringChannelModel> => {
    const setup = so.recovery.setup as (m: ChannelModel) => Promise<void>;
    const counting: RecoveryOptions = {
      ...so.recovery,
      setup: (model: ChannelModel) => {
        const createChannel = model.createChannel.bind(model);
        const createConfirmChannel = model.createConfirmChannel.bind(model);
        model.createChannel = () => (channels++, createChannel());
        model.createConfirmChannel = () => (channels++, createConfirmChannel());
        return setup(model);
      },
    };
    return amqp.connect(url, { ...so, recovery: counting }) as Promise<RecoveringChannelModel>;
  };
  return { connect, channels: () => channels };
}
