// What the Kafka transports that send a batch in one call (kafkajs, @platformatic/kafka) share:
// topic-name checks, one produce call per batch bounded by sendTimeoutMs (each topic not written
// to yet in a call of its own, so that its refusal cannot have the other topics written twice),
// permanent per-record refusals isolated by splitting the batch instead of failing it forever, a
// topic that does not exist waited for and then refused (topics.ts) while the other topics are
// delivered, and the connection state.
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import type { OutboundMessage } from '../../record.js';
import type { TransportContext } from '../shared/transport-options.js';
import type { SendHooks, SendResult, Transport } from '../transport.js';
import { KafkaConnection } from './connection.js';
import { TOPIC_NAME, kafkaOptionProblems, type KafkaOptions } from './options.js';
import { KnownTopics, UNKNOWN_TOPIC, UnknownTopics, groupByTopic, type Attempt, type Refused } from './topics.js';

/** Broker refusals that retrying cannot fix. Record-level ones are isolated by splitting the batch. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TIMESTAMP']);
const TOPIC_ERRORS = new Set(['INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED']);

type Refusal = { scope: 'record' | 'topic'; reason: string };

/** An error and what it wraps: `cause` (kafkajs, @platformatic/kafka) and `errors` (AggregateError). */
interface ErrorTree {
  name?: string;
  message?: string;
  /** The Kafka error name: kafkajs calls it type, @platformatic/kafka apiId. */
  type?: string;
  apiId?: string;
  code?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** Every error in a (possibly wrapped or aggregated) error, breadth first, a bounded number. */
export function* errorsIn(err: unknown): Generator<ErrorTree> {
  const queue: unknown[] = [err];
  for (let seen = 0; queue.length > 0 && seen < 64; seen++) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null) continue;
    const t = e as ErrorTree;
    yield t;
    if (t.cause !== undefined) queue.push(t.cause);
    if (Array.isArray(t.errors)) queue.push(...t.errors);
  }
}

/** The permanent refusal inside a (possibly wrapped) Kafka client error, if it is one. */
export function permanentRefusal(err: unknown): Refusal | undefined {
  for (const e of errorsIn(err)) {
    const name = e.type ?? e.apiId;
    if (name && RECORD_ERRORS.has(name)) return { scope: 'record', reason: name.toLowerCase() };
    if (name && TOPIC_ERRORS.has(name)) return { scope: 'topic', reason: name.toLowerCase() };
  }
  return undefined;
}

/**
 * @platformatic/kafka answers a metadata request refused with UNKNOWN_TOPIC_OR_PARTITION with a
 * UserError of its own (code PLT_KFK_USER, "Unknown topic <name>.") that keeps nothing of the
 * broker's error; its send fails with that too.
 */
const PLATFORMATIC_UNKNOWN_TOPIC = /^Unknown topic .*\.$/;

/** Whether a (possibly wrapped) Kafka client error says a topic does not exist. */
export function topicMissing(err: unknown): boolean {
  for (const e of errorsIn(err)) {
    if ((e.type ?? e.apiId) === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    if (e.code === 'PLT_KFK_USER' && typeof e.message === 'string' && PLATFORMATIC_UNKNOWN_TOPIC.test(e.message)) return true;
  }
  return false;
}

export class SendTimeoutError extends Error {
  override name = 'KafkaJSSendTimeout';
}

export abstract class BatchKafkaTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;

  protected readonly log: Logger;
  protected readonly limited: RateLimitedLog;
  protected readonly connection: KafkaConnection;
  protected closing = false;
  /** Produce calls in send() order: a client that awaits metadata before writing lets concurrent calls overtake each other. */
  private sequence: Promise<void> = Promise.resolve();

  constructor(
    protected readonly options: KafkaOptions,
    ctx: TransportContext,
    client: string,
  ) {
    const problems = kafkaOptionProblems(options);
    if (problems.length > 0) throw new Error(problems.map((p) => `${p.key} ${p.message}`).join('; '));
    this.log = ctx.logger.child({ sink: ctx.name, transport: 'kafka', client });
    this.limited = new RateLimitedLog(this.log);
    this.connection = new KafkaConnection(
      this.log,
      this.limited,
      options.reconnectIntervalMs,
      () => this.reconnect(),
      (up) => this.onStateChange?.(up),
    );
  }

  /** Sends one batch and resolves once the broker acknowledged all of it. */
  protected abstract produce(batch: readonly OutboundMessage[]): Promise<void>;
  /** One reconnection attempt while the cluster is unreachable: resolves once it answered. */
  protected abstract reconnect(): Promise<void>;
  /** Whether a failed send means the cluster is out of reach (rather than refusing something). */
  protected abstract isConnectionError(err: unknown): boolean;
  /** Whether the topic exists, asked without creating it. */
  protected abstract topicExists(topic: string): Promise<boolean>;
  abstract start(): Promise<void>;
  abstract close(): Promise<void>;

  private unknown: UnknownTopics | undefined;
  private readonly known = new KnownTopics();

  /** Made at the first send: topicExists belongs to the subclass, not ready during this constructor. */
  private get unknownTopics(): UnknownTopics {
    this.unknown ??= new UnknownTopics({ waitMs: this.options.unknownTopicWaitMs, lookup: (t) => this.topicExists(t), log: this.limited });
    return this.unknown;
  }

  /** Stops the unknown-topic lookups and the connection probe (subclasses close their clients). */
  protected closeShared(): void {
    this.connection.close();
    this.unknown?.close();
  }

  isConnected(): boolean {
    return this.connection.connected;
  }

  async send(batch: readonly OutboundMessage[], hooks?: SendHooks): Promise<SendResult> {
    if (this.closing) throw new Error('Kafka transport closed');
    if (!this.connection.connected) throw new Error('Kafka: not connected to the cluster');
    const sentAt = Date.now();
    const rejected: Refused = [];
    const named: OutboundMessage[] = [];
    for (const m of batch) {
      if (TOPIC_NAME.test(m.address.target)) named.push(m);
      else rejected.push({ message: m, reason: 'invalid_topic' });
    }
    const { sendable, refused, waiting } = await this.unknownTopics.screen(named);
    for (const message of refused) rejected.push({ message, reason: UNKNOWN_TOPIC });
    let missing = waiting;
    if (sendable.length > 0) {
      // Joined before any await, so that batches sent concurrently reach the broker in send() order.
      const turn = this.sequence.then(() => this.deliver(sendable));
      this.sequence = turn.then(
        () => {},
        () => {},
      );
      const first = await turn;
      rejected.push(...first.rejected);
      missing = missing.length > 0 ? [...missing, ...first.missing] : first.missing;
    }
    if (missing.length > 0) {
      // Only topics that do not exist are left: later batches need not wait for this one.
      hooks?.waiting?.();
      rejected.push(...(await this.unknownTopics.deliverMissing(missing, sentAt, (records) => this.isolate(records))));
    }
    return rejected.length > 0 ? { rejected } : {};
  }

  /**
   * Sends a batch. The records of each topic not written to yet go in a produce call of their
   * own, and the records of the known topics together only once those were delivered. A topic
   * being created (auto-created by this very send, or by someone else) is refused for a moment
   * while the broker writes the other topics of the same request, and the client retries a
   * request whole: alone, it cannot have the other topics written twice, and when its failure
   * fails the batch the known topics were not sent yet, so the sink's retry cannot either. When
   * several topics are new, those the cluster does not have yet go first (in parallel), then the
   * others (in parallel). Returns what the broker refused and the records whose topic does not
   * exist; rejects on a failure worth retrying.
   */
  private async deliver(batch: readonly OutboundMessage[]): Promise<Attempt> {
    const { fresh, known } = this.known.split(batch);
    if (fresh.size === 0) return this.attempt(known);
    const out: Attempt = { rejected: [], missing: [] };
    const add = (a: Attempt): void => {
      out.rejected.push(...a.rejected);
      out.missing.push(...a.missing);
    };
    const topics = [...fresh.keys()];
    const exist = topics.length > 1 ? await Promise.all(topics.map((t) => this.bounded(this.topicExists(t)).catch(() => false))) : [false];
    for (const group of [topics.filter((_, i) => !exist[i]), topics.filter((_, i) => exist[i])]) {
      if (group.length === 0) continue;
      const settled = await Promise.allSettled(group.map((topic) => this.attempt(fresh.get(topic) as OutboundMessage[], topic)));
      for (const s of settled) if (s.status === 'rejected') throw s.reason;
      for (const s of settled) if (s.status === 'fulfilled') add(s.value);
    }
    if (known.length > 0) add(await this.attempt(known));
    return out;
  }

  /**
   * One produce call for `part` (of the one `topic` not written to yet, when given: known once
   * delivered). A refusal or a missing topic is narrowed down by isolate(); anything else rejects.
   */
  private async attempt(part: readonly OutboundMessage[], topic?: string): Promise<Attempt> {
    try {
      await this.sendOnce(part);
      if (topic !== undefined) this.known.written(topic);
      return { rejected: [], missing: [] };
    } catch (err) {
      const refusal = permanentRefusal(err);
      if (!refusal && !topicMissing(err)) throw this.failed(err);
      // A single topic found missing: nothing to tell apart, no second call to find it again.
      if (!refusal && topic !== undefined) return { rejected: [], missing: [...part] };
      return this.isolate(part);
    }
  }

  /**
   * Sends a batch the broker refused in part topic by topic, splitting a part refused for
   * good until the refused records stand alone. Returns the refused records and the records
   * whose topic does not exist. Parts already written before the refusal may be written
   * again (at-least-once): only a batch of known topics gets here whole, when one of them was
   * deleted or refuses a record for good.
   */
  private async isolate(batch: readonly OutboundMessage[]): Promise<Attempt> {
    const rejected: Refused = [];
    const missing: OutboundMessage[] = [];
    const work: OutboundMessage[][] = groupByTopic(batch).map((g) => g.messages);
    while (work.length > 0) {
      const part = work.shift() as OutboundMessage[];
      const topic = (part[0] as OutboundMessage).address.target;
      try {
        await this.sendOnce(part);
        this.known.written(topic);
        continue;
      } catch (err) {
        const refusal = permanentRefusal(err);
        if (!refusal && topicMissing(err)) {
          this.known.forget(topic);
          missing.push(...part);
          continue;
        }
        if (!refusal) throw this.failed(err);
        // A topic-wide refusal covers the whole (single-topic) part; a record-level one is narrowed down.
        if (refusal.scope === 'topic' || part.length === 1) {
          for (const message of part) rejected.push({ message, reason: refusal.reason });
          this.limited.error(
            `refused:${refusal.reason}`,
            { reason: refusal.reason, topic, records: part.length },
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

  /** produce(), bounded by sendTimeoutMs: the sink then retries the batch. */
  private sendOnce(batch: readonly OutboundMessage[]): Promise<void> {
    return this.bounded(this.produce(batch));
  }

  /** `work`, bounded by sendTimeoutMs. */
  private async bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SendTimeoutError(`Kafka: batch not acknowledged within ${this.options.sendTimeoutMs} ms`)),
        this.options.sendTimeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Notes what a failed send says about the connection, and returns the error to throw. */
  private failed(err: unknown): Error {
    if (err instanceof SendTimeoutError || this.isConnectionError(err)) this.connection.lost();
    const e = err instanceof Error ? err : new Error(String(err));
    return e.message.startsWith('Kafka') ? e : new Error(`Kafka: ${e.message}`, { cause: e });
  }
}
