// Pieces every run of the suite shares: its context, broker resources, progress probes,
// the consumer that verifies a run, the load generator, and the result skeleton.
import type { ConsumerJob, ConsumerResult } from '../consumer.js';
import type { GeneratorDone, GeneratorJob } from '../generator.js';
import { AMQP_URL, AmqpAdmin, KafkaAdmin, topicOf } from '../lib/brokers.js';
import { type Plan } from '../lib/data.js';
import { GatewayProcess, sleep } from '../lib/gateway.js';
import { nowMs, startChild, type Child } from '../lib/ipc.js';
import { type ScenarioResult, type Verification } from '../lib/results.js';
import { type KafkaClient, type Scenario, type SinkKind, type SuiteOptions } from '../lib/scenarios.js';

export const MB = 1e6;
export const log = (msg: string): void => {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
export const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits });


// ---------------------------------------------------------------------------------------------
// Shared pieces of a run

export interface Ctx {
  o: SuiteOptions;
  run: string;
  tmp: string;
  kafka?: KafkaAdmin;
  amqp?: AmqpAdmin;
  results: Map<string, ScenarioResult>;
  /** Counts runs, so that every run (and every retry) has its own topics and queue. */
  seq: number;
}

export const recordsFor = (ctx: Ctx, dataset: string): number => (dataset === 'ncsa' ? ctx.o.ncsaRecords : ctx.o.clusterRecords);

async function kafkaAdmin(ctx: Ctx): Promise<KafkaAdmin> {
  ctx.kafka ??= await KafkaAdmin.connect();
  return ctx.kafka;
}

async function amqpAdmin(ctx: Ctx): Promise<AmqpAdmin> {
  ctx.amqp ??= await AmqpAdmin.connect();
  return ctx.amqp;
}

/** Topics and queue of one run, created before and removed after it. */
export interface Resources {
  prefix: string;
  topics: string[];
  queue?: string;
  /** The sinks send NDJSON messages (their recordsPerMessage above 1): the broker's messages are not records. */
  ndjson: boolean;
}

export async function createResources(ctx: Ctx, name: string, plan: Plan, sinks: SinkKind[], ndjson = false): Promise<Resources> {
  const prefix = `${ctx.run}-${++ctx.seq}-${name}`;
  const r: Resources = { prefix, topics: [], ndjson };
  if (sinks.includes('kafka')) {
    r.topics = Object.keys(plan.perPath).map((p) => topicOf(prefix, p));
    await (await kafkaAdmin(ctx)).createTopics(r.topics);
  }
  if (sinks.includes('amqp')) {
    r.queue = prefix;
    await (await amqpAdmin(ctx)).declareQueue(r.queue, prefix);
  }
  return r;
}

/** Deletes a run's topics and queue; a broker connection that died meanwhile is opened again once. */
export async function removeResources(ctx: Ctx, r: Resources): Promise<void> {
  const attempt = async (what: string, fn: () => Promise<void>, reset: () => Promise<void>): Promise<void> => {
    for (let i = 0; i < 2; i++) {
      try {
        await fn();
        return;
      } catch (err) {
        await reset();
        if (i === 1) log(`  could not delete ${what}: ${(err as Error).message} (queues expire by themselves after an hour)`);
      }
    }
  };
  if (r.topics.length > 0) {
    await attempt(`topics ${r.topics.join(', ')}`, async () => (await kafkaAdmin(ctx)).deleteTopics(r.topics), async () => {
      await ctx.kafka?.close();
      ctx.kafka = undefined;
    });
  }
  if (r.queue) {
    const queue = r.queue;
    await attempt(`queue ${queue}`, async () => (await amqpAdmin(ctx)).deleteQueue(queue), async () => {
      await ctx.amqp?.close();
      ctx.amqp = undefined;
    });
  }
}

/** Messages the broker holds for a run's sink: Kafka records, or the queue's messages. */
async function brokerCount(ctx: Ctx, r: Resources, sink: SinkKind): Promise<number> {
  if (sink === 'kafka') return (await kafkaAdmin(ctx)).count(r.topics);
  return (await amqpAdmin(ctx)).count(r.queue as string);
}

/** How far a sink's broker got: the records it holds, and when it first held all of them (CLOCK_MONOTONIC ms). */
interface Progress {
  records: number;
  doneAt?: number;
}

/** Asks a sink's broker how far the run got; called every 50 ms. */
type Probe = () => Promise<Progress>;

/** One record per message: the broker's count is the record count. */
function countProbe(ctx: Ctx, r: Resources, sink: SinkKind, records: number): Probe {
  return async () => {
    const n = await brokerCount(ctx, r, sink);
    return n >= records ? { records: n, doneAt: nowMs() } : { records: n };
  };
}

/**
 * NDJSON: the broker counts messages (the queue's message count, the topics' high-water marks),
 * and how many records each one holds depends on how the gateway's batches fell. The gateway's
 * acknowledged counter says when the broker has acknowledged every record (a confirm of a
 * persistent message routed to a durable queue: the queue holds it; Kafka acks=all: the
 * high-water mark has passed it); the broker's message count stops growing then, so the broker
 * held all records when the count first showed its final value — seen by the same 50 ms polls as
 * the other runs. The counter comes from the /metrics scrapes the run makes anyway
 * (`acknowledged`), so this costs the gateway no scrape of its own; the verification afterwards
 * still reads every record back from the broker.
 */
function ndjsonProbe(ctx: Ctx, r: Resources, sink: SinkKind, records: number, acknowledged: () => number): Probe {
  let count = -1;
  let since = 0;
  let allAcknowledged = false;
  return async () => {
    const n = await brokerCount(ctx, r, sink);
    const at = nowMs();
    if (n !== count) {
      count = n;
      since = at;
    }
    // This poll began after every record was seen acknowledged: the count it read is final.
    if (allAcknowledged) return { records, doneAt: since };
    const acked = acknowledged();
    allAcknowledged = acked >= records;
    return { records: acked };
  };
}

/** The probe of each sink of a run; `acknowledged`: the gateway's acknowledged counter of a sink, for NDJSON runs. */
export function probesFor(ctx: Ctx, r: Resources, sinks: SinkKind[], records: number, acknowledged?: (sink: SinkKind) => number): Map<SinkKind, Probe> {
  return new Map(
    sinks.map((s): [SinkKind, Probe] => {
      if (!r.ndjson) return [s, countProbe(ctx, r, s, records)];
      if (!acknowledged) throw new Error('an NDJSON run needs the gateway\'s acknowledged counter to tell when the broker holds every record');
      return [s, ndjsonProbe(ctx, r, s, records, () => acknowledged(s))];
    }),
  );
}

/**
 * Polls the brokers until each sink holds `records` records; returns when each got there
 * (CLOCK_MONOTONIC ms). Fails when nothing moved for `stallSeconds`.
 */
export async function waitForBrokers(
  ctx: Ctx,
  probes: Map<SinkKind, Probe>,
  records: number,
  what: string,
  watch: Array<Pick<Child | GatewayProcess, 'failure'>> = [],
): Promise<Partial<Record<SinkKind, number>>> {
  const done: Partial<Record<SinkKind, number>> = {};
  const held = new Map<SinkKind, number>();
  let last = -1;
  let movedAt = nowMs();
  for (;;) {
    for (const w of watch) if (w.failure) throw w.failure;
    for (const [s, probe] of probes) {
      if (done[s] !== undefined) continue;
      try {
        const p = await probe();
        held.set(s, Math.min(p.records, records));
        if (p.doneAt !== undefined) done[s] = p.doneAt;
      } catch {
        // broker briefly unreachable (outage test): try again
        if (s === 'amqp') {
          await ctx.amqp?.close();
          ctx.amqp = undefined;
        }
      }
    }
    if ([...probes.keys()].every((s) => done[s] !== undefined)) return done;
    let total = 0;
    for (const s of probes.keys()) total += done[s] !== undefined ? records : (held.get(s) ?? 0);
    if (total !== last) {
      last = total;
      movedAt = nowMs();
    } else if (nowMs() - movedAt > ctx.o.stallSeconds * 1000) {
      throw new Error(`${what}: stuck at ${total} of ${records * probes.size} records at the broker(s) for ${ctx.o.stallSeconds} s`);
    }
    await sleep(50);
  }
}

/** Consumes a run's records from the broker and checks them against the plan. */
export async function startConsumer(ctx: Ctx, dataset: string, records: number, r: Resources, sink: SinkKind, arrivals: boolean): Promise<Child> {
  const c = startChild('consumer', `consumer-${sink}`);
  const job: ConsumerJob = {
    dataset,
    records,
    source: sink === 'kafka' ? { kind: 'kafka', prefix: r.prefix, ndjson: r.ndjson } : { kind: 'amqp', url: AMQP_URL, queue: r.queue as string, prefix: r.prefix, ndjson: r.ndjson },
    arrivals,
    idleTimeoutMs: Math.max(20_000, ctx.o.stallSeconds * 1000),
  };
  c.send({ type: 'start', job: job as unknown as Record<string, unknown> });
  await c.next('consuming', 120_000);
  return c;
}

/** ok: every record arrived, byte for byte; duplicates only where at-least-once allows them (outages). */
export function verification(sink: SinkKind, c: ConsumerResult, duplicatesAllowed = false): Verification {
  return {
    sink,
    received: c.received,
    lost: c.lost,
    duplicates: c.duplicates,
    foreign: c.foreign,
    outOfOrder: c.outOfOrder,
    ...(c.redelivered > 0 ? { redelivered: c.redelivered } : {}),
    ...(c.messages < c.received ? { messages: c.messages } : {}),
    ok: c.lost === 0 && c.foreign === 0 && (duplicatesAllowed || c.duplicates === 0),
  };
}

export async function verifyAll(ctx: Ctx, dataset: string, records: number, r: Resources, sinks: SinkKind[], duplicatesAllowed = false): Promise<Verification[]> {
  const out: Verification[] = [];
  for (const sink of sinks) {
    const c = await startConsumer(ctx, dataset, records, r, sink, false);
    const res = await c.next<ConsumerResult & { [k: string]: unknown }>('done');
    await c.stop();
    out.push(verification(sink, res, duplicatesAllowed));
  }
  return out;
}

export async function startGenerator(job: GeneratorJob): Promise<Child> {
  const g = startChild('generator');
  g.send({ type: 'prepare', job: job as unknown as Record<string, unknown> });
  await g.next('ready', 60_000);
  return g;
}

export function generatorFigures(g: GeneratorDone): ScenarioResult['generator'] {
  return {
    recordsPerSec: Math.round(g.records / ((g.endMs - g.startMs) / 1000)),
    cpuSeconds: round(g.cpuSeconds, 3),
    cpuMicrosPerRecord: round((g.cpuSeconds * 1e6) / g.records, 2),
    stalls: g.stalls,
  };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The Kafka client a scenario measures, when it has a Kafka sink: kafkajs unless it says otherwise. */
export function kafkaClientOf(s: Scenario, sinks: SinkKind[]): KafkaClient | undefined {
  if (!sinks.includes('kafka')) return undefined;
  return ('kafkaClient' in s ? s.kafkaClient : undefined) ?? 'kafkajs';
}

/** The sinks' recordsPerMessage a scenario sets (NDJSON), if any. */
export function recordsPerMessageSetting(s: Scenario): number | undefined {
  return 'recordsPerMessage' in s ? s.recordsPerMessage : undefined;
}

export function baseResult(s: Scenario, plan: Plan, mode: ScenarioResult['mode'], sinks: SinkKind[]): ScenarioResult {
  const kafkaClient = kafkaClientOf(s, sinks);
  const recordsPerMessage = recordsPerMessageSetting(s);
  return {
    id: s.id,
    kind: s.kind,
    title: s.title,
    dataset: s.dataset,
    sinks,
    ...(kafkaClient ? { kafkaClient } : {}),
    ...(recordsPerMessage ? { recordsPerMessage } : {}),
    mode,
    records: plan.records,
    jsonBytes: plan.jsonBytes,
    verification: [],
  };
}

export function setRate(res: ScenarioResult, plan: Plan, seconds: number): void {
  res.seconds = round(seconds, 3);
  res.recordsPerSec = Math.round(plan.records / seconds);
  res.mbPerSec = round(plan.jsonBytes / MB / seconds, 2);
}
