// Broker-side verifier (a child process of the suite): consumes a run's Kafka topics or RabbitMQ
// queue and checks every record against the replay plan — each record of the plan must arrive,
// byte for byte (inside the tagged envelope), as many times as it was sent. It also notes when
// each record arrived, per path, for the latency figures. NDJSON messages of the Kafka and AMQP
// sinks (recordsPerMessage above 1) are split into their records, each checked like a message of
// its own and arriving when its message arrives.
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { loadDataset, makePlan } from './lib/data.js';
import { kafka, routingKeyOf, topicOf } from './lib/brokers.js';
import { nowMs, reply, serve, uniqueSuffix } from './lib/ipc.js';

export interface ConsumerJob {
  dataset: string;
  records: number;
  /** `ndjson`: the gateway sends NDJSON messages (every message must be one; else none may be). */
  source: { kind: 'kafka'; prefix: string; ndjson: boolean } | { kind: 'amqp'; url: string; queue: string; prefix: string; ndjson: boolean };
  /** Keep the arrival time of every record (per path, in arrival order). */
  arrivals: boolean;
  /** Give up when nothing new arrived for this long. */
  idleTimeoutMs: number;
}

export interface ConsumerResult {
  type: 'done';
  /** Records consumed (duplicates included). */
  received: number;
  /** Records of the plan that never arrived. */
  lost: number;
  /** Arrivals beyond the number of times a record was sent. */
  duplicates: number;
  /**
   * Records that are not in the plan at all, or whose envelope is wrong; a message in the wrong
   * format (NDJSON or not, a zeek-records header that miscounts its lines) counts as one.
   */
  foreign: number;
  /** Records that are not the next one of their path in the plan (order, duplicates). */
  outOfOrder: number;
  /** AMQP redeliveries of records already counted (the consumer's connection was lost). */
  redelivered: number;
  /** Broker messages that carried the records (one per record; NDJSON: fewer). */
  messages: number;
  perPath: Record<string, number>;
  firstMs: number;
  lastMs: number;
  arrivals?: Record<string, number[]>;
  timedOut: boolean;
}

class Verifier {
  private readonly ids = new Map<string, number>();
  private readonly expected: Int32Array;
  private readonly got: Int32Array;
  private readonly prefixes = new Map<string, Buffer>();
  /** Per path: the record ids in plan order, and how far the arrivals got. */
  private readonly order = new Map<string, { ids: Int32Array; next: number }>();
  missing: number;
  outOfOrder = 0;
  /** AMQP redeliveries of records already counted (after a lost connection). */
  redelivered = 0;
  received = 0;
  messages = 0;
  duplicates = 0;
  foreign = 0;
  firstMs = 0;
  lastMs = 0;
  readonly perPath: Record<string, number> = {};
  readonly arrivals: Record<string, number[]> | undefined;
  readonly paths: string[];
  private onComplete: (() => void) | undefined;
  readonly complete: Promise<void>;

  constructor(job: ConsumerJob) {
    const d = loadDataset(job.dataset);
    const plan = makePlan(d, job.records);
    this.paths = Object.keys(plan.perPath);
    const idOfMessage: Int32Array[] = d.records.map((recs) =>
      Int32Array.from(recs, (r) => {
        const key = r.toString('latin1');
        let id = this.ids.get(key);
        if (id === undefined) this.ids.set(key, (id = this.ids.size));
        return id;
      }),
    );
    this.expected = new Int32Array(this.ids.size);
    this.got = new Int32Array(this.ids.size);
    const order = new Map<string, number[]>();
    for (const k of plan.sequence) {
      const path = d.paths[k] as string;
      let list = order.get(path);
      if (!list) order.set(path, (list = []));
      for (const id of idOfMessage[k] as Int32Array) {
        this.expected[id]!++;
        list.push(id);
      }
    }
    for (const [path, ids] of order) this.order.set(path, { ids: Int32Array.from(ids), next: 0 });
    this.missing = plan.records;
    this.arrivals = job.arrivals ? {} : undefined;
    this.complete = new Promise((resolve) => (this.onComplete = resolve));
  }

  /** The record id of a payload: the record inside the tagged envelope of its path. */
  private idOf(path: string, payload: Buffer): number | undefined {
    let prefix = this.prefixes.get(path);
    if (!prefix) this.prefixes.set(path, (prefix = Buffer.from(`{${JSON.stringify(path)}:`)));
    const n = payload.length;
    if (n < prefix.length + 1 || payload[n - 1] !== 0x7d || prefix.compare(payload, 0, prefix.length) !== 0) return undefined;
    return this.ids.get(payload.toString('latin1', prefix.length, n - 1));
  }

  /** A redelivered AMQP message: counted only if its record is still missing (it may have been counted before). */
  addRedelivered(path: string, payload: Buffer, at: number): void {
    const id = this.idOf(path, payload);
    if (id !== undefined && (this.got[id] as number) >= (this.expected[id] as number)) {
      this.redelivered++;
      return;
    }
    this.add(path, payload, at);
  }

  /** One consumed record: its path and the payload as the gateway sent it (tagged envelope). */
  add(path: string, payload: Buffer, at: number): void {
    this.arrived(path, at);
    const id = this.idOf(path, payload);
    if (id === undefined) {
      this.foreign++;
      return;
    }
    const o = this.order.get(path);
    if (o && o.ids[o.next] === id) o.next++;
    else this.outOfOrder++;
    const c = ++this.got[id]!;
    if (c > (this.expected[id] as number)) this.duplicates++;
    else if (--this.missing === 0) this.onComplete?.();
  }

  /**
   * One consumed message: its records (recordsOf), all arriving when it does; undefined (not in
   * the run's format) is one foreign arrival, and its records stay missing.
   */
  addMessage(path: string, records: Buffer[] | undefined, at: number, redelivered = false): void {
    this.messages++;
    if (!records) {
      this.arrived(path, at);
      this.foreign++;
    } else if (redelivered) for (const r of records) this.addRedelivered(path, r, at);
    else for (const r of records) this.add(path, r, at);
  }

  /** Counts an arrival: received, per path, and its time. */
  private arrived(path: string, at: number): void {
    if (this.received === 0) this.firstMs = at;
    this.lastMs = at;
    this.received++;
    this.perPath[path] = (this.perPath[path] ?? 0) + 1;
    if (this.arrivals) (this.arrivals[path] ??= []).push(at);
  }
}

/** The NDJSON messages (recordsPerMessage above 1): every record followed by "\n". */
const NEWLINE = 0x0a;

/**
 * The records of a message: its body, or the lines of an NDJSON body. `marked`: the message says
 * it is NDJSON (AMQP: its content type; Kafka: its zeek-records header); `declared`: its
 * zeek-records header. undefined when the message is not in the run's format — NDJSON where one
 * record per message is expected or the other way round, a last line without its "\n", or a
 * zeek-records header that miscounts the lines (consumers rely on it).
 */
function recordsOf(body: Buffer, marked: boolean, declared: unknown, ndjson: boolean): Buffer[] | undefined {
  if (marked !== ndjson) return undefined;
  if (!ndjson) return [body];
  const records: Buffer[] = [];
  let start = 0;
  for (let nl = body.indexOf(NEWLINE); nl >= 0; nl = body.indexOf(NEWLINE, start)) {
    records.push(body.subarray(start, nl));
    start = nl + 1;
  }
  return start === body.length && Number(String(declared)) === records.length ? records : undefined;
}

async function consumeKafka(v: Verifier, source: { prefix: string; ndjson: boolean }, ready: () => void): Promise<() => Promise<void>> {
  const byTopic = new Map(v.paths.map((p) => [topicOf(source.prefix, p), p]));
  const consumer = kafka().consumer({
    groupId: `zlg-bench-${uniqueSuffix()}`,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    minBytes: 1,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => ready());
  await consumer.subscribe({ topics: [...byTopic.keys()], fromBeginning: true });
  // Offsets are never committed: after a rebalance (say the broker restarted) the group starts over
  // from the beginning, so records already counted are skipped by offset. A duplicate written
  // to the log has an offset of its own and is counted.
  const seen = new Map<string, bigint>();
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = nowMs();
      const path = byTopic.get(batch.topic) as string;
      const key = `${batch.topic}/${batch.partition}`;
      let last = seen.get(key) ?? -1n;
      for (const m of batch.messages) {
        const offset = BigInt(m.offset);
        if (offset <= last) continue;
        last = offset;
        const declared = m.headers?.['zeek-records'];
        v.addMessage(path, recordsOf(m.value ?? Buffer.alloc(0), declared !== undefined, declared, source.ndjson), at);
      }
      seen.set(key, last);
    },
  });
  return () => consumer.disconnect();
}

/** The content type of the AMQP sink's NDJSON messages. */
const NDJSON = 'application/x-ndjson';

/**
 * Consumes with acknowledgements (so a delivery cut off by a lost connection goes back to the
 * queue) and reconnects when the broker goes away — the brokers are shared with other jobs that
 * restart them. A redelivered message may have been counted before its ack was lost: it only
 * counts while its record is still missing.
 */
async function consumeAmqp(v: Verifier, source: { url: string; queue: string; prefix: string; ndjson: boolean }, ready: () => void): Promise<() => Promise<void>> {
  const skip = source.prefix.length + 1;
  let closing = false;
  let conn: Awaited<ReturnType<typeof amqp.connect>> | undefined;
  const open = async (): Promise<void> => {
    const c = await amqp.connect(source.url, { timeout: 5000 });
    conn = c;
    c.on('error', () => undefined);
    c.on('close', () => {
      if (!closing) setTimeout(() => void reconnect(), 1000);
    });
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    await ch.prefetch(2000);
    let unacked: ConsumeMessage | undefined;
    let n = 0;
    const flush = (): void => {
      if (unacked) ch.ack(unacked, true);
      unacked = undefined;
      n = 0;
    };
    const timer = setInterval(flush, 100);
    c.on('close', () => clearInterval(timer));
    await ch.consume(source.queue, (m: ConsumeMessage | null) => {
      if (!m) return;
      const path = m.fields.routingKey.slice(skip);
      const at = nowMs();
      const declared = (m.properties.headers as Record<string, unknown> | undefined)?.['zeek-records'];
      v.addMessage(path, recordsOf(m.content, m.properties.contentType === NDJSON, declared, source.ndjson), at, m.fields.redelivered);
      unacked = m;
      if (++n >= 500) flush();
    });
  };
  const reconnect = async (): Promise<void> => {
    while (!closing) {
      try {
        await open();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  await open();
  ready();
  return async () => {
    closing = true;
    await conn?.close().catch(() => undefined);
  };
}

serve(async (m) => {
  if (m.type !== 'start') return;
  const job = m.job as ConsumerJob;
  const v = new Verifier(job);
  let announced = false;
  const ready = (): void => {
    if (!announced) reply({ type: 'consuming' });
    announced = true;
  };
  const src = job.source;
  if (src.kind === 'amqp' && routingKeyOf(src.prefix, 'x') !== `${src.prefix}.x`) throw new Error('routing key layout changed');
  const close = src.kind === 'kafka' ? await consumeKafka(v, src, ready) : await consumeAmqp(v, src, ready);
  // Done when every record of the plan arrived (then a moment for late duplicates), or when
  // nothing new arrived for idleTimeoutMs.
  let timedOut = false;
  let lastSeen = -1;
  let idleSince = nowMs();
  await new Promise<void>((resolve) => {
    void v.complete.then(resolve);
    const t = setInterval(() => {
      if (v.received !== lastSeen) {
        lastSeen = v.received;
        idleSince = nowMs();
      } else if (nowMs() - idleSince > job.idleTimeoutMs) {
        timedOut = true;
        clearInterval(t);
        resolve();
      }
    }, 100);
    void v.complete.then(() => clearInterval(t));
  });
  if (!timedOut) await new Promise((r) => setTimeout(r, 300));
  await close();
  const result: ConsumerResult = {
    type: 'done',
    received: v.received,
    lost: v.missing,
    duplicates: v.duplicates,
    foreign: v.foreign,
    outOfOrder: v.outOfOrder,
    redelivered: v.redelivered,
    messages: v.messages,
    perPath: v.perPath,
    firstMs: v.firstMs,
    lastMs: v.lastMs,
    timedOut,
  };
  if (v.arrivals) result.arrivals = v.arrivals;
  reply(result as unknown as { type: string });
});
