// Load and end-to-end counting for fault tests: numbered real NCSA records sent at a fixed
// rate, and a count of what reached a RabbitMQ queue or a Kafka topic (lost, duplicated,
// out of order), read back in full after the gateway stopped.
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { AMQP_URL, kafkaClient, uniqueName } from './brokers.js';
import { loadCapture, PCAPS } from './testdata.js';

// ---------------------------------------------------------------------------------------------
// Numbered records

let base: Buffer[][] | undefined;

/** The real records of the NCSA captures (`ncsa/*.jsonl`), in capture order: [path, JSON]. */
export function ncsaRecords(): Buffer[][] {
  base ??= PCAPS.map((p) => loadCapture('ncsa', `${p}.jsonl`)).flat();
  return base;
}

const SEQ = Buffer.from(',"_seq":');

/**
 * Real record number `seq` (the captures' records in a loop), made unique by a `_seq` field
 * appended as its last field, so that losses and duplicates can be counted.
 */
export function numberedRecord(seq: number): Buffer[] {
  const records = ncsaRecords();
  const [path, body] = records[seq % records.length] as [Buffer, Buffer];
  return [path, Buffer.concat([body.subarray(0, body.length - 1), SEQ, Buffer.from(`${seq}}`)])];
}

/** `count` numbered records starting at `first`. */
export function numbered(count: number, first = 0): Buffer[][] {
  return Array.from({ length: count }, (_, i) => numberedRecord(first + i));
}

/**
 * The `_seq` of a delivered message, tagged (`{"conn":{...}}`) or raw. It is the last field the
 * record has, so it is found from the end without parsing the record.
 */
export function seqOf(content: Buffer): number {
  const at = content.lastIndexOf(SEQ);
  if (at < 0) throw new Error(`no _seq in ${content.subarray(0, 80).toString()}…`);
  let n = 0;
  let i = at + SEQ.length;
  for (; i < content.length; i++) {
    const c = content[i] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
  }
  if (i === at + SEQ.length) throw new Error('_seq is not a number');
  return n;
}

// ---------------------------------------------------------------------------------------------
// Paced load

export interface LoadOptions {
  /** Records per second. */
  rate: number;
  /** How long to send; stop() ends it earlier. */
  durationMs: number;
  /** Sends one message; awaited, so a sender that waits slows the load (seen in maxLagMs). */
  send: (frames: Buffer[]) => Promise<unknown> | unknown;
  /** Sequence number of the first record (default 0). */
  firstSeq?: number;
}

export interface LoadReport {
  firstSeq: number;
  /** Records sent: seqs firstSeq … firstSeq + sent − 1. */
  sent: number;
  elapsedMs: number;
  /** Achieved records per second. */
  rate: number;
  /** Longest the sender was behind its schedule. */
  maxLagMs: number;
}

export interface PacedLoad {
  /** Records sent so far. */
  readonly sent: number;
  /** Ends the load early; `done` then resolves with what was sent. */
  stop(): void;
  readonly done: Promise<LoadReport>;
}

const TICK_MS = 5;

/**
 * Sends numbered records at `rate` per second for `durationMs`: each tick sends what the
 * schedule says is due by then, so a late tick catches up instead of lowering the rate.
 */
export function startLoad(opts: LoadOptions): PacedLoad {
  const firstSeq = opts.firstSeq ?? 0;
  const total = Math.round((opts.rate * opts.durationMs) / 1000);
  let sent = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const run = async (): Promise<LoadReport> => {
    const t0 = performance.now();
    let maxLag = 0;
    while (!stopped && sent < total) {
      const elapsed = performance.now() - t0;
      const due = Math.min(total, Math.floor((opts.rate * elapsed) / 1000));
      maxLag = Math.max(maxLag, ((due - sent) * 1000) / opts.rate);
      while (sent < due && !stopped) {
        await opts.send(numberedRecord(firstSeq + sent));
        sent++;
      }
      if (sent < total && !stopped) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, TICK_MS);
        });
      }
    }
    const elapsedMs = performance.now() - t0;
    return { firstSeq, sent, elapsedMs, rate: (sent * 1000) / elapsedMs, maxLagMs: Math.round(maxLag) };
  };
  const done = run();
  return {
    get sent() {
      return sent;
    },
    stop() {
      stopped = true;
      wake?.();
    },
    done,
  };
}

// ---------------------------------------------------------------------------------------------
// End-to-end count

export interface DeliveryReport {
  /** Records sent (the expected seqs). */
  sent: number;
  /** Messages read back, duplicates included. */
  received: number;
  /** Distinct expected seqs read back. */
  unique: number;
  lost: number;
  /** Messages beyond the first of their seq. */
  duplicates: number;
  /** First arrivals of a seq lower than an earlier first arrival (a retry's repeats do not count). */
  outOfOrder: number;
  /** Messages whose seq was never sent (another run's records, or corruption). */
  unexpected: number;
  /** The first missing seqs, as ranges `a-b`, for the report. */
  missing: string[];
  /** Highest seq delivered, −1 for none. */
  highest: number;
}

/** Counts delivered seqs against the sent range [first, first + sent). */
export class DeliveryCount {
  private readonly seen: Uint8Array;
  private received = 0;
  private unique = 0;
  private unexpected = 0;
  private outOfOrder = 0;
  private highestFirst = -1;

  constructor(
    readonly sent: number,
    readonly first = 0,
  ) {
    this.seen = new Uint8Array(sent);
  }

  add(seq: number): void {
    this.received++;
    const i = seq - this.first;
    if (i < 0 || i >= this.sent) {
      this.unexpected++;
      return;
    }
    if (this.seen[i] === 0) {
      this.unique++;
      if (i < this.highestFirst) this.outOfOrder++;
      else this.highestFirst = i;
    }
    if ((this.seen[i] as number) < 255) this.seen[i]++;
  }

  has(seq: number): boolean {
    const i = seq - this.first;
    return i >= 0 && i < this.sent && this.seen[i] !== 0;
  }

  /** The runs of delivered seqs, as [from, to] inclusive. */
  ranges(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let start = -1;
    for (let i = 0; i <= this.sent; i++) {
      const got = i < this.sent && this.seen[i] !== 0;
      if (got && start < 0) start = i;
      if (!got && start >= 0) {
        out.push([this.first + start, this.first + i - 1]);
        start = -1;
      }
    }
    return out;
  }

  report(): DeliveryReport {
    const missing: string[] = [];
    let prevEnd = this.first - 1;
    for (const [a, b] of [...this.ranges(), [this.first + this.sent, 0] as [number, number]]) {
      if (a > prevEnd + 1 && missing.length < 5) missing.push(a - 1 === prevEnd + 1 ? `${prevEnd + 1}` : `${prevEnd + 1}-${a - 1}`);
      prevEnd = b;
    }
    return {
      sent: this.sent,
      received: this.received,
      unique: this.unique,
      lost: this.sent - this.unique,
      duplicates: this.received - this.unique - this.unexpected,
      outOfOrder: this.outOfOrder,
      unexpected: this.unexpected,
      missing,
      highest: this.first + this.highestFirst,
    };
  }
}

export interface ReadBack {
  /** Messages read. */
  messages: number;
  /** False when the timeout ran out before the end of the queue or topic was reached. */
  complete: boolean;
}

/**
 * Reads every message in `queue` into `count`, emptying it. Call it once nothing publishes to
 * the queue any more (the gateway stopped): the queue's message count is then the whole of it.
 */
export async function readQueue(queue: string, count: DeliveryCount, timeoutMs = 120_000, url = AMQP_URL): Promise<ReadBack> {
  const conn = await amqp.connect(url, { timeout: 5000 });
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    const { messageCount } = await ch.checkQueue(queue);
    let messages = 0;
    if (messageCount > 0) {
      await ch.prefetch(5000);
      let tag = '';
      const complete = await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        // No acks: the queue is ours alone and read once, and this is the fastest way to empty it.
        ch.consume(
          queue,
          (msg: ConsumeMessage | null) => {
            if (msg === null) return reject(new Error(`consumer on ${queue} was cancelled by the broker`));
            count.add(seqOf(msg.content));
            if (++messages === messageCount) {
              clearTimeout(timer);
              resolve(true);
            }
          },
          { noAck: true },
        ).then(
          (r) => (tag = r.consumerTag),
          (err: unknown) => {
            clearTimeout(timer);
            reject(err as Error);
          },
        );
      });
      if (tag) await ch.cancel(tag).catch(() => undefined);
      if (!complete) return { messages, complete };
    }
    // Nothing may be left behind (something still publishing would make the count wrong).
    const after = await ch.checkQueue(queue);
    return { messages, complete: after.messageCount === 0 };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * Reads every record of `topic` (all partitions, up to the end offsets it has now) into `count`.
 * Call it once nothing produces to the topic any more.
 */
export async function readTopic(topic: string, count: DeliveryCount, timeoutMs = 120_000): Promise<ReadBack> {
  const client = kafkaClient({ requestTimeout: 30_000 });
  const admin = client.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return { messages: 0, complete: true };
  const consumer = client.consumer({ groupId: uniqueName('faults'), maxWaitTimeInMs: 250, maxBytes: 50 * 1024 * 1024 });
  let messages = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const complete = await new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const left = new Set(ends.keys());
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition);
            if (end === undefined || !left.has(batch.partition)) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              if (m.value) count.add(seqOf(m.value));
              messages++;
              if (BigInt(m.offset) === end - 1n) left.delete(batch.partition);
            }
            if (left.size === 0) {
              clearTimeout(timer);
              resolve(true);
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err as Error);
        });
    });
    return { messages, complete };
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
