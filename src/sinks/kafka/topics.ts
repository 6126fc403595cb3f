// Topics, the same for every Kafka client: a batch grouped by topic, and records for a topic
// that does not exist (and that nobody auto-creates). Those wait a bounded time for the topic to
// appear, then are refused (unknown_topic) — while every other topic of the sink keeps flowing:
// the batch that waits tells the sink (SendHooks.waiting), which sends later batches meanwhile,
// and the later records of a topic being waited for queue behind the earlier ones.
// A client reports which of its records found their topic missing and answers lookups; the
// waiting, caching and re-checking happen here.
import type { RateLimitedLog } from '../../ops/log.js';
import type { OutboundMessage } from '../../record.js';
import { EvictingMap } from '../../util/bounded-cache.js';

/** The refusal reason (zeek_gateway_sink_dropped_total{reason}, dead letters). */
export const UNKNOWN_TOPIC = 'unknown_topic';

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

/** Records refused for good, with the reason. */
export type Refused = Array<{ message: OutboundMessage; reason: string }>;

/** What one send of some records did: the ones refused, and the ones whose topic does not exist. */
export interface Attempt {
  rejected: Refused;
  missing: OutboundMessage[];
}

/** Whether the cluster has `topic` (without creating it); rejects when the cluster cannot tell. */
export type TopicLookup = (topic: string) => Promise<boolean>;

export interface UnknownTopicsOptions {
  /** How long records wait for a missing topic, from the first send that found it missing. */
  waitMs: number;
  lookup: TopicLookup;
  log: RateLimitedLog;
  /** A refused topic is looked up again at most this often (while records for it arrive). */
  recheckMs?: number;
  /** While waiting, how often the topic is looked up. */
  pollMs?: number;
}

/** A topic found missing: since when, and once its wait ran out, when it was last looked up. */
interface Missing {
  since: number;
  checkedAt?: number;
}

/** Topics tracked at most; hostile paths must not grow this without bound. */
const MAX_TOPICS = 10_000;

/**
 * The topics a produce has written to. A produce request the broker refuses in part is sent
 * again whole — by the client's own retries, then by the sink — and the broker does refuse part
 * of one while it writes the rest: the partitions of a topic being auto-created (or just created)
 * are refused for a moment, the other topics' are written. So a topic not written to yet goes in
 * a request of its own, and only topics that took records share one.
 */
export class KnownTopics {
  private readonly known = new EvictingMap<string, true>(MAX_TOPICS);

  /**
   * The records of topics not written to yet, per topic (in batch order), and those of the
   * known topics. A batch of known topics is returned as it is.
   */
  split<M extends OutboundMessage>(batch: readonly M[]): { fresh: Map<string, M[]>; known: M[] } {
    let last: string | undefined;
    let allKnown = true;
    for (const m of batch) {
      const topic = m.address.target;
      if (topic === last) continue;
      last = topic;
      if (!this.known.has(topic)) {
        allKnown = false;
        break;
      }
    }
    if (allKnown) return { fresh: new Map(), known: batch as M[] };
    const known: M[] = [];
    const fresh = new Map<string, M[]>();
    for (const m of batch) {
      const topic = m.address.target;
      if (this.known.has(topic)) {
        known.push(m);
        continue;
      }
      let list = fresh.get(topic);
      if (!list) fresh.set(topic, (list = []));
      list.push(m);
    }
    return { fresh, known };
  }

  /** The broker took records of `topic`. The oldest known topic makes room (it goes alone once more). */
  written(topic: string): void {
    this.known.set(topic, true);
  }

  /** The broker said `topic` does not exist (deleted since?): it goes alone again. */
  forget(topic: string): void {
    this.known.delete(topic);
  }
}

export class UnknownTopics {
  private readonly missing = new EvictingMap<string, Missing>(MAX_TOPICS);
  /** Per topic, the last delivery waiting for it: true once it settled without failing. */
  private readonly turns = new Map<string, Promise<boolean>>();
  private readonly recheckMs: number;
  private readonly pollMs: number;
  private closed = false;

  constructor(private readonly o: UnknownTopicsOptions) {
    this.recheckMs = o.recheckMs ?? 5_000;
    this.pollMs = o.pollMs ?? 1_000;
  }

  /**
   * Splits off the records of topics refused lately, to be refused at once instead of waiting
   * again (a refused topic due for a re-check is looked up first: created since, it flows again),
   * and the records of topics being waited for, which join that wait without a send that would
   * only find the topic missing again.
   */
  async screen<M extends OutboundMessage>(batch: readonly M[]): Promise<{ sendable: M[]; refused: M[]; waiting: M[] }> {
    if (this.missing.size === 0) return { sendable: batch as M[], refused: [], waiting: [] };
    const verdicts = new Map<string, 'send' | 'refuse' | 'wait'>();
    for (const m of batch) {
      const topic = m.address.target;
      if (verdicts.has(topic)) continue;
      const entry = this.missing.get(topic);
      if (entry === undefined) verdicts.set(topic, 'send');
      else if (entry.checkedAt === undefined) verdicts.set(topic, 'wait');
      else if (Date.now() - entry.checkedAt < this.recheckMs) verdicts.set(topic, 'refuse');
      else if (await this.exists(topic)) {
        this.missing.delete(topic);
        verdicts.set(topic, 'send');
      } else {
        this.refuse(topic, entry);
        verdicts.set(topic, 'refuse');
      }
    }
    if (![...verdicts.values()].some((v) => v !== 'send')) return { sendable: batch as M[], refused: [], waiting: [] };
    const out = { send: [] as M[], refuse: [] as M[], wait: [] as M[] };
    for (const m of batch) out[verdicts.get(m.address.target) ?? 'send'].push(m);
    return { sendable: out.send, refused: out.refuse, waiting: out.wait };
  }

  /**
   * Records a send that began at `sentAt` found without their topic: the records of each topic
   * wait for it (deliverWhenKnown, the topics in parallel) and go again through `send`. Returns
   * the records refused: those still without a topic when its wait ran out, and the ones `send`
   * refused.
   */
  async deliverMissing(missing: readonly OutboundMessage[], sentAt: number, send: (records: OutboundMessage[]) => Promise<Attempt>): Promise<Refused> {
    const rejected: Refused = [];
    await Promise.all(groupByTopic(missing).map(({ topic, messages }) => this.inTurn(topic, sentAt, () => this.deliverTopic(topic, messages, sentAt, send, rejected))));
    return rejected;
  }

  /**
   * Runs `deliver` after every earlier delivery for `topic` (batches wait for a topic one after
   * the other, so its records keep their order). When an earlier one failed, this one fails
   * too: it goes again behind it, instead of overtaking records that will be sent again.
   */
  private inTurn(topic: string, sentAt: number, deliver: () => Promise<void>): Promise<void> {
    const before = this.turns.get(topic);
    // The first delivery to wait owns the topic's wait; later ones queue behind it.
    if (before === undefined) this.entry(topic, sentAt);
    const turn = (async () => {
      if (before !== undefined && !(await before)) throw new Error(`Kafka: an earlier batch for topic ${topic} was not delivered; this one goes again after it`);
      await deliver();
    })();
    const settled = turn.then(
      () => true,
      () => false,
    );
    this.turns.set(topic, settled);
    void settled.then(() => {
      if (this.turns.get(topic) === settled) this.turns.delete(topic);
    });
    return turn;
  }

  /** Delivers the records of one topic once it exists; adds those refused to `rejected`. */
  private async deliverTopic(topic: string, messages: OutboundMessage[], sentAt: number, send: (records: OutboundMessage[]) => Promise<Attempt>, rejected: Refused): Promise<void> {
    let pending = messages;
    const resend = async (): Promise<boolean> => {
      const again = await send(pending);
      rejected.push(...again.rejected);
      pending = again.missing;
      return pending.length === 0;
    };
    // An earlier batch waited for this topic and found it: send at once.
    if (!this.missing.has(topic) && (await resend())) return;
    const delivered = await this.deliverWhenKnown(topic, sentAt, resend);
    if (!delivered) for (const message of pending) rejected.push({ message, reason: UNKNOWN_TOPIC });
  }

  /**
   * A send that began at `sentAt` found `topic` missing. Waits until the topic exists and
   * `resend` delivered its records (true), or until the wait that began when the topic was first
   * found missing ran out (false: refuse them). `resend` returns false when it found the topic
   * missing again. A topic refused before gets one look, no new wait.
   */
  async deliverWhenKnown(topic: string, sentAt: number, resend: () => Promise<boolean>): Promise<boolean> {
    const entry = this.entry(topic, sentAt);
    if (entry.checkedAt === undefined) {
      for (let left = this.left(entry); left > 0; left = this.left(entry)) {
        await new Promise((r) => setTimeout(r, Math.min(this.pollMs, left)));
        // Closing ends the wait without a verdict: the send fails, the records stay where they were.
        if (this.closed) throw new Error('Kafka transport closed');
        if ((await this.exists(topic)) && (await resend())) return this.found(topic);
      }
      this.o.log.error(
        'unknown-topic:refused',
        { topic, waitedMs: Date.now() - entry.since, reason: UNKNOWN_TOPIC },
        'Kafka topic does not exist: its records are refused (looked up again every few seconds while records for it arrive)',
      );
    } else if ((await this.exists(topic)) && (await resend())) return this.found(topic);
    this.refuse(topic, entry);
    return false;
  }

  /** Ends every wait (their sends reject). */
  close(): void {
    this.closed = true;
  }

  private left(entry: Missing): number {
    return entry.since + this.o.waitMs - Date.now();
  }

  private entry(topic: string, sentAt: number): Missing {
    let entry = this.missing.get(topic);
    if (entry === undefined) {
      this.missing.set(topic, (entry = { since: sentAt }));
      this.o.log.warn(
        'unknown-topic:waiting',
        { topic, waitMs: this.o.waitMs },
        'Kafka topic does not exist: its records wait for it, the other topics keep flowing',
      );
    }
    return entry;
  }

  /** The topic stays refused until a look at it, due recheckMs from now, finds it. */
  private refuse(topic: string, entry: Missing): void {
    entry.checkedAt = Date.now();
    if (!this.missing.has(topic)) this.missing.set(topic, entry);
  }

  private found(topic: string): true {
    this.missing.delete(topic);
    return true;
  }

  /** Looks the topic up; a lookup that fails counts as missing (asked again later). */
  private async exists(topic: string): Promise<boolean> {
    try {
      return await this.o.lookup(topic);
    } catch (err) {
      this.o.log.warn('unknown-topic:lookup', { topic, err: (err as Error).message }, 'Kafka topic lookup failed');
      return false;
    }
  }
}
