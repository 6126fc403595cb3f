// Broker administration for the benchmark: the local brokers of scripts/brokers.sh, topics and
// queues named per run (and removed afterwards), and "how many records has the broker got".
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import kafkajs from 'kafkajs';
import type { Admin, KafkaConfig } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const execFileP = promisify(execFile);

export const AMQP_URL = process.env.ZLG_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const KAFKA_BROKERS = (process.env.ZLG_BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((s) => s.trim());
/** One durable topic exchange for every run; runs are told apart by their routing-key prefix. */
export const BENCH_EXCHANGE = 'zlg-bench';

/** `zlgb-<time>-<random>`: Kafka topic and AMQP routing-key safe. */
export function runId(): string {
  return `zlgb-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function scriptRun(script: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await execFileP('bash', [`scripts/${script}`, ...args], { timeout: 15 * 60_000 });
  return `${stdout}${stderr}`;
}

/** `bash scripts/brokers.sh up`, as the tests do. */
export async function brokersUp(): Promise<void> {
  try {
    await scriptRun('brokers.sh', 'up');
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`bash scripts/brokers.sh up failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

export function kafkaConfig(extra: Partial<KafkaConfig> = {}): KafkaConfig {
  return { brokers: KAFKA_BROKERS, clientId: 'zlg-bench', logLevel: logLevel.NOTHING, connectionTimeout: 5000, requestTimeout: 30_000, ...extra };
}

export function kafka(extra: Partial<KafkaConfig> = {}): InstanceType<typeof Kafka> {
  return new Kafka(kafkaConfig(extra));
}

/** Kafka topic of a path under a run's prefix (the gateway's `topic` template with `{path}`). */
export const topicOf = (prefix: string, path: string): string => `${prefix}-${path}`;
/** AMQP routing key of a path under a run's prefix (the gateway's `routingKey` template). */
export const routingKeyOf = (prefix: string, path: string): string => `${prefix}.${path}`;

export class KafkaAdmin {
  private constructor(private readonly admin: Admin) {}

  static async connect(): Promise<KafkaAdmin> {
    const admin = kafka().admin();
    await admin.connect();
    return new KafkaAdmin(admin);
  }

  /** Creates the topics (1 partition, like the broker's auto-creation) and waits for their leaders. */
  async createTopics(topics: string[]): Promise<void> {
    await this.admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
  }

  /** Records stored in the topics: the sum of their high-water marks (topics start empty). */
  async count(topics: string[]): Promise<number> {
    const offsets = await Promise.all(topics.map((t) => this.admin.fetchTopicOffsets(t)));
    let n = 0;
    for (const parts of offsets) for (const p of parts) n += Number(p.high);
    return n;
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({ topics, timeout: 30_000 });
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => undefined);
  }
}

const ignore = (): void => undefined;

export class AmqpAdmin {
  private ch: Channel | undefined;

  private constructor(private readonly conn: ChannelModel) {}

  static async connect(): Promise<AmqpAdmin> {
    const conn = await amqp.connect(AMQP_URL, { timeout: 5000 });
    conn.on('error', ignore);
    return new AmqpAdmin(conn);
  }

  /** An open channel: the broker closes a channel on any failed operation, so open another then. */
  private async channel(): Promise<Channel> {
    if (this.ch) return this.ch;
    const ch = await this.conn.createChannel();
    ch.on('error', ignore);
    ch.on('close', () => {
      if (this.ch === ch) this.ch = undefined;
    });
    this.ch = ch;
    return ch;
  }

  /** The broker's version, from the connection's server properties. */
  get serverVersion(): string {
    const props = (this.conn.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties;
    return String(props?.version ?? 'unknown');
  }

  /**
   * Declares the bench exchange and a durable queue for one run, bound to the run's routing-key
   * prefix. The queue expires an hour after its last use, should the suite not get to delete it.
   */
  async declareQueue(queue: string, prefix: string): Promise<void> {
    const ch = await this.channel();
    await ch.assertExchange(BENCH_EXCHANGE, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-expires': 3_600_000 } });
    await ch.bindQueue(queue, BENCH_EXCHANGE, `${prefix}.#`);
  }

  /** Messages ready in the queue. */
  async count(queue: string): Promise<number> {
    return (await (await this.channel()).checkQueue(queue)).messageCount;
  }

  async deleteQueue(queue: string): Promise<void> {
    await (await this.channel()).deleteQueue(queue);
  }

  async close(): Promise<void> {
    await this.conn.close().catch(ignore);
  }
}

/** Versions of the brokers as `scripts/brokers.sh status` and the AMQP handshake report them. */
export async function brokerVersions(): Promise<{ rabbitmq: string; kafka: string }> {
  let kafkaVersion = 'unknown';
  try {
    const out = await scriptRun('kafka.sh', 'status');
    kafkaVersion = /Kafka ([0-9][\w.-]*)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    kafkaVersion = /Kafka ([0-9][\w.-]*)/.exec(String((err as { stdout?: string }).stdout ?? ''))?.[1] ?? 'unknown';
  }
  let rabbitmq = 'unknown (not reachable)';
  try {
    const admin = await AmqpAdmin.connect();
    rabbitmq = admin.serverVersion;
    await admin.close();
  } catch {
    // reported as unknown; the AMQP scenarios will fail on their own
  }
  return { rabbitmq, kafka: kafkaVersion };
}
