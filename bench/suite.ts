// The benchmark suite: `npm run bench [-- options]` (see bench/README.md).
//
// Every figure comes from this one run on this machine: the ceilings (bare zeromq.js receive
// loop, bare kafkajs and node-rdkafka producers, bare amqplib publisher) and the gateway
// scenarios (the Kafka sink with either client) replay the same
// records, and every run ends only when the broker has every record; each run is then verified
// by consuming the broker's copy record by record.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { ConsumerJob, ConsumerResult } from './consumer.js';
import type { GeneratorDone, GeneratorJob } from './generator.js';
import type { AmqpPublisherJob } from './amqp-publisher.js';
import type { KafkaProducerJob } from './kafka-producer.js';
import type { RdkafkaProducerJob } from './rdkafka-producer.js';
import type { CeilingDone } from './lib/ceiling-client.js';
import { bufferSchema } from '../src/buffer/index.js';
import { subIngressSchema } from '../src/ingress/zmq-sub.js';
import { defaultKafkaOptions } from '../src/sinks/kafka/options.js';
import { loadRdkafka } from '../src/sinks/kafka/librdkafka.js';
import { AMQP_URL, AmqpAdmin, BENCH_EXCHANGE, KAFKA_BROKERS, KafkaAdmin, brokerVersions, brokersUp, runId, scriptRun, topicOf } from './lib/brokers.js';
import { loadDataset, makePlan, prepareDataset, type Dataset, type Plan } from './lib/data.js';
import { GatewayProcess, freePort, histogramQuantile, machineCpu, metricSum, procStatus, sleep, type Sample } from './lib/gateway.js';
import { nowMs, startChild, type Child, type Msg } from './lib/ipc.js';
import { analyzeProfile } from './lib/profile.js';
import { renderMarkdown } from './lib/report.js';
import { RESULTS_SCHEMA, evaluateTargets, type Machine, type Results, type ScenarioResult, type Verification } from './lib/results.js';
import { DEFAULTS, SMOKE, selectScenarios, type GatewayScenario, type KafkaClient, type Scenario, type SinkKind, type SuiteOptions } from './lib/scenarios.js';
import { latencyStats, recordLatencies } from './lib/stats.js';

const MB = 1e6;
const log = (msg: string): void => {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};
const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// Options

/** librdkafka's queue.buffering.max.messages (its default; the gateway does not change it). */
const RDKAFKA_QUEUE = 100_000;

const USAGE = `usage: npm run bench -- [options]
  --smoke                  tiny run of one scenario per kind (seconds, for the smoke test)
  --scenarios a,b,...      scenario ids or globs (default: all); see bench/README.md
  --no-ceilings            do not add the ceilings the selected gateway scenarios compare with
  --ncsa-records N         records per NCSA run and per ceiling run (default ${DEFAULTS.ncsaRecords})
  --cluster-records N      records per cluster run (default ${DEFAULTS.clusterRecords})
  --latency-rate R         records/s of the fixed-rate runs (default ${DEFAULTS.latencyRate})
  --latency-seconds S      duration of the fixed-rate runs (default ${DEFAULTS.latencySeconds})
  --warmup-seconds S       records sent in the first S seconds are left out of the latency figures (default ${DEFAULTS.warmupSeconds})
  --outage-seconds S       how long RabbitMQ is stopped in outage-amqp (default ${DEFAULTS.outageSeconds})
  --outage-rate R          records/s during outage-amqp (default ${DEFAULTS.outageRate})
  --profile auto|all|none|ids  re-run gateway scenarios under node --cpu-prof: those that missed a
                           target (auto, the default), all, none, or the listed ones
  --kafka-in-flight N      batches in flight in the kafkajs Kafka ceiling (default ${DEFAULTS.kafkaInFlight})
  --rdkafka-window N       records awaiting delivery reports in the librdkafka Kafka ceiling
                           (default ${DEFAULTS.rdkafkaWindow}; below librdkafka's queue of ${RDKAFKA_QUEUE})
  --amqp-window N          unconfirmed messages in flight in the AMQP ceiling (default ${DEFAULTS.amqpWindow})
  --out DIR                where <date>-<host>.json and .md go (default bench/results; smoke: a temp folder)
  --gateway-config FILE    also pass this config file to every gateway run, after the generated
                           one (repeatable; an experiment: the report shows it)
  --gateway-dir DIR        run DIR/dist/cli.js instead of this checkout's (an experiment: the report shows it)
  --retries N              re-runs of a scenario that failed with an error (default ${DEFAULTS.retries})
  --no-brokers-up          do not run scripts/brokers.sh up first`;

/** Options that take a number, by flag. */
const NUMERIC: Record<string, keyof SuiteOptions> = {
  '--ncsa-records': 'ncsaRecords',
  '--cluster-records': 'clusterRecords',
  '--latency-rate': 'latencyRate',
  '--latency-seconds': 'latencySeconds',
  '--warmup-seconds': 'warmupSeconds',
  '--outage-seconds': 'outageSeconds',
  '--outage-rate': 'outageRate',
  '--kafka-in-flight': 'kafkaInFlight',
  '--rdkafka-window': 'rdkafkaWindow',
  '--amqp-window': 'amqpWindow',
  '--retries': 'retries',
};

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function parseArgs(argv: string[]): SuiteOptions {
  const given: Partial<Record<keyof SuiteOptions, unknown>> = {};
  let smoke = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    const key = NUMERIC[flag];
    if (key) {
      const v = value();
      const x = Number(v);
      if (v === undefined || v === '' || !Number.isFinite(x) || x < 0) throw new Error(`${flag} needs a non-negative number\n${USAGE}`);
      given[key] = x;
    } else if (flag === '--smoke') smoke = true;
    else if (flag === '--scenarios') given.select = list(value());
    else if (flag === '--no-ceilings') given.withCeilings = false;
    else if (flag === '--no-brokers-up') given.brokersUp = false;
    else if (flag === '--out') given.out = value() ?? '';
    else if (flag === '--gateway-dir') given.gatewayDir = resolve(value() ?? '.');
    else if (flag === '--gateway-config') given.gatewayConfigs = [...((given.gatewayConfigs as string[] | undefined) ?? []), resolve(value() ?? '')];
    else if (flag === '--profile') {
      const v = value() ?? '';
      given.profile = v === 'auto' || v === 'all' || v === 'none' ? v : list(v);
    } else if (flag === '-h' || flag === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const o: SuiteOptions = { ...DEFAULTS, ...(smoke ? SMOKE : {}), ...(given as Partial<SuiteOptions>), smoke };
  if (smoke && given.out === undefined) o.out = join(os.tmpdir(), 'zlg-bench-results');
  o.kafkaInFlight = Math.max(1, o.kafkaInFlight);
  o.amqpWindow = Math.max(1, o.amqpWindow);
  // More would make librdkafka refuse records ("Queue full") instead of the window pacing them.
  if (o.rdkafkaWindow < 1 || o.rdkafkaWindow >= RDKAFKA_QUEUE) throw new Error(`--rdkafka-window must be 1 to ${RDKAFKA_QUEUE - 1}\n${USAGE}`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Machine

/** A package.json field of an installed package: its version, or (node-rdkafka) the librdkafka it builds. */
function libVersion(name: string, field = 'version'): string {
  try {
    return String((JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as Record<string, unknown>)[field] ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

async function describeMachine(): Promise<Machine> {
  const cpus = os.cpus();
  let gitCommit = 'unknown';
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    if (dirty) gitCommit += ' (src/ has uncommitted changes)';
  } catch {
    // not a git checkout
  }
  const versions = await brokerVersions();
  return {
    host: os.hostname(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rabbitmq: versions.rabbitmq,
    kafka: versions.kafka,
    libraries: {
      ...Object.fromEntries(['kafkajs', 'node-rdkafka', 'amqplib', 'zeromq'].map((n) => [n, libVersion(n)])),
      librdkafka: libVersion('node-rdkafka', 'librdkafka'),
    },
    gatewayVersion: (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,
    gitCommit,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of a run

interface Ctx {
  o: SuiteOptions;
  run: string;
  tmp: string;
  kafka?: KafkaAdmin;
  amqp?: AmqpAdmin;
  results: Map<string, ScenarioResult>;
  /** Counts runs, so that every run (and every retry) has its own topics and queue. */
  seq: number;
}

const recordsFor = (ctx: Ctx, dataset: string): number => (dataset === 'ncsa' ? ctx.o.ncsaRecords : ctx.o.clusterRecords);

async function kafkaAdmin(ctx: Ctx): Promise<KafkaAdmin> {
  ctx.kafka ??= await KafkaAdmin.connect();
  return ctx.kafka;
}

async function amqpAdmin(ctx: Ctx): Promise<AmqpAdmin> {
  ctx.amqp ??= await AmqpAdmin.connect();
  return ctx.amqp;
}

/** Topics and queue of one run, created before and removed after it. */
interface Resources {
  prefix: string;
  topics: string[];
  queue?: string;
  /** The sinks send NDJSON messages (their recordsPerMessage above 1): the broker's messages are not records. */
  ndjson: boolean;
}

async function createResources(ctx: Ctx, name: string, plan: Plan, sinks: SinkKind[], ndjson = false): Promise<Resources> {
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
async function removeResources(ctx: Ctx, r: Resources): Promise<void> {
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
function probesFor(ctx: Ctx, r: Resources, sinks: SinkKind[], records: number, acknowledged?: (sink: SinkKind) => number): Map<SinkKind, Probe> {
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
async function waitForBrokers(
  ctx: Ctx,
  probes: Map<SinkKind, Probe>,
  records: number,
  what: string,
  watch: Array<Child | GatewayProcess> = [],
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
async function startConsumer(ctx: Ctx, dataset: string, records: number, r: Resources, sink: SinkKind, arrivals: boolean): Promise<Child> {
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
function verification(sink: SinkKind, c: ConsumerResult, duplicatesAllowed = false): Verification {
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

async function verifyAll(ctx: Ctx, dataset: string, records: number, r: Resources, sinks: SinkKind[], duplicatesAllowed = false): Promise<Verification[]> {
  const out: Verification[] = [];
  for (const sink of sinks) {
    const c = await startConsumer(ctx, dataset, records, r, sink, false);
    const res = await c.next<ConsumerResult & { [k: string]: unknown }>('done');
    await c.stop();
    out.push(verification(sink, res, duplicatesAllowed));
  }
  return out;
}

async function startGenerator(job: GeneratorJob): Promise<Child> {
  const g = startChild('generator');
  g.send({ type: 'prepare', job: job as unknown as Record<string, unknown> });
  await g.next('ready', 60_000);
  return g;
}

function generatorFigures(g: GeneratorDone): ScenarioResult['generator'] {
  return {
    recordsPerSec: Math.round(g.records / ((g.endMs - g.startMs) / 1000)),
    cpuSeconds: round(g.cpuSeconds, 3),
    cpuMicrosPerRecord: round((g.cpuSeconds * 1e6) / g.records, 2),
    stalls: g.stalls,
  };
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The Kafka client a scenario measures, when it has a Kafka sink: kafkajs unless it says otherwise. */
function kafkaClientOf(s: Scenario, sinks: SinkKind[]): KafkaClient | undefined {
  if (!sinks.includes('kafka')) return undefined;
  return ('kafkaClient' in s ? s.kafkaClient : undefined) ?? 'kafkajs';
}

/** The sinks' recordsPerMessage a scenario sets (NDJSON), if any. */
function recordsPerMessageSetting(s: Scenario): number | undefined {
  return 'recordsPerMessage' in s ? s.recordsPerMessage : undefined;
}

function baseResult(s: Scenario, plan: Plan, mode: ScenarioResult['mode'], sinks: SinkKind[]): ScenarioResult {
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

function setRate(res: ScenarioResult, plan: Plan, seconds: number): void {
  res.seconds = round(seconds, 3);
  res.recordsPerSec = Math.round(plan.records / seconds);
  res.mbPerSec = round(plan.jsonBytes / MB / seconds, 2);
}

// ---------------------------------------------------------------------------------------------
// Ceilings

async function runIngress(ctx: Ctx, s: Scenario): Promise<ScenarioResult> {
  const d = loadDataset(s.dataset);
  const plan = makePlan(d, recordsFor(ctx, s.dataset));
  const res = baseResult(s, plan, 'max', []);
  const cluster = d.spec.kind === 'cluster';
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const sink = startChild('zmq-sink');
  try {
    sink.send({ type: 'listen', job: { socket: cluster ? 'pull' : 'sub', endpoint, messages: plan.sequence.length } });
    await sink.next('listening', 30_000);
    const gen = await startGenerator({ dataset: s.dataset, socket: cluster ? 'push' : 'pub', endpoint, records: plan.records, rate: 0 });
    const cpu0 = machineCpu();
    gen.send({ type: 'go' });
    const g = await gen.next<GeneratorDone>('done');
    const r = await sink.next<{ type: string; messages: number; lastMs: number; cpuSeconds: number }>('done');
    res.machineBusyPercent = busyPercent(cpu0);
    await gen.stop();
    setRate(res, plan, (r.lastMs - g.startMs) / 1000);
    res.generator = generatorFigures(g);
    res.clientCpuSeconds = round(r.cpuSeconds, 3);
    // The bare sink counts messages; they arrive in plan order, so the first r.messages carry these records.
    let received = 0;
    for (let i = 0; i < r.messages; i++) received += (d.records[plan.sequence[i] as number] as Buffer[]).length;
    const ok = r.messages === plan.sequence.length;
    res.verification.push({ sink: 'bare', received, lost: plan.records - received, duplicates: 0, foreign: 0, outOfOrder: 0, ok });
  } finally {
    await sink.stop();
  }
  return res;
}

function busyPercent(before: { busy: number; total: number }): number {
  const after = machineCpu();
  return round((100 * (after.busy - before.busy)) / Math.max(1, after.total - before.total), 1);
}

/** The bare client of a broker ceiling (a bench/<script>.ts child) and its job. */
function ceilingClient(ctx: Ctx, s: Scenario, plan: Plan, r: Resources): { script: string; job: KafkaProducerJob | RdkafkaProducerJob | AmqpPublisherJob } {
  const base = { dataset: s.dataset, records: plan.records, prefix: r.prefix };
  if (s.kind !== 'kafka-ceiling') return { script: 'amqp-publisher', job: { ...base, url: AMQP_URL, exchange: BENCH_EXCHANGE, window: ctx.o.amqpWindow } };
  if (s.kafkaClient === 'librdkafka') return { script: 'rdkafka-producer', job: { ...base, window: ctx.o.rdkafkaWindow } };
  // Batches as the gateway's sinks cut them by default.
  const batchRecords = bufferSchema.batchMaxRecords.default;
  const batchBytes = bufferSchema.batchMaxBytes.default;
  const script = s.kafkaClient === 'platformatic' ? 'platformatic-producer' : 'kafka-producer';
  return { script, job: { ...base, batchRecords, batchBytes, inFlight: ctx.o.kafkaInFlight } };
}

async function runBrokerCeiling(ctx: Ctx, s: Scenario): Promise<ScenarioResult> {
  const sink: SinkKind = s.kind === 'kafka-ceiling' ? 'kafka' : 'amqp';
  const d = loadDataset(s.dataset);
  const plan = makePlan(d, recordsFor(ctx, s.dataset));
  const res = baseResult(s, plan, 'max', [sink]);
  const r = await createResources(ctx, s.id, plan, [sink]);
  try {
    const { script, job } = ceilingClient(ctx, s, plan, r);
    const child = startChild(script);
    try {
      child.send({ type: 'prepare', job: job as unknown as Record<string, unknown> });
      await child.next('ready', 60_000);
      const cpu0 = machineCpu();
      child.send({ type: 'go' });
      const done = await waitForBrokers(ctx, probesFor(ctx, r, [sink], plan.records), plan.records, s.id, [child]);
      const c = await child.next<CeilingDone & Msg>('done', 60_000);
      res.machineBusyPercent = busyPercent(cpu0);
      setRate(res, plan, ((done[sink] as number) - c.startMs) / 1000);
      res.clientCpuSeconds = round(c.cpuSeconds, 3);
    } finally {
      await child.stop();
    }
    res.verification = await verifyAll(ctx, s.dataset, plan.records, r, [sink]);
  } finally {
    await removeResources(ctx, r);
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// The gateway

/** The scenarios that run the gateway. */
type ThroughGateway = GatewayScenario | Extract<Scenario, { kind: 'outage' }>;

/**
 * The Kafka sink's `client`, set only where it is not the gateway's default: the config stays
 * the shipped one for the kafkajs scenarios (and valid for a --gateway-dir build from before the
 * option existed), while each scenario still runs the client its title names, whatever the default.
 */
function kafkaClientSetting(s: ThroughGateway): { client?: KafkaClient } {
  const client = kafkaClientOf(s, s.sinks);
  return client && client !== defaultKafkaOptions().client ? { client } : {};
}

/**
 * The sinks' `recordsPerMessage` (Kafka and AMQP alike) and `buffer.maxInFlight`, set only by the
 * NDJSON scenarios: the others keep the shipped defaults and stay valid for a --gateway-dir build
 * from before the option existed.
 */
function sinkSettings(s: ThroughGateway): { recordsPerMessage?: number; buffer?: { maxInFlight: number } } {
  const n = recordsPerMessageSetting(s);
  const inFlight = 'maxInFlight' in s ? s.maxInFlight : undefined;
  return { ...(n === undefined ? {} : { recordsPerMessage: n }), ...(inFlight === undefined ? {} : { buffer: { maxInFlight: inFlight } }) };
}

function gatewayConfig(s: ThroughGateway, d: Dataset, r: Resources, endpoint: string, httpPort: number): Record<string, unknown> {
  const cluster = d.spec.kind === 'cluster';
  const destinations = s.sinks.map((k) => ({ sink: k === 'kafka' ? 'kafka' : 'rabbitmq' }));
  return {
    log: { level: 'warn' },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    ingress: {
      sub: { enabled: !cluster, endpoints: [endpoint] },
      pull: { enabled: cluster, endpoints: [endpoint] },
    },
    // The shipped sink names, so that everything not set here is the shipped default
    // (buffers included); only the addressing is the run's own.
    sinks: {
      rabbitmq: s.sinks.includes('amqp')
        ? {
            type: 'amqp',
            url: AMQP_URL,
            exchange: BENCH_EXCHANGE,
            routingKey: `${r.prefix}.{path}`,
            declareExchange: { name: BENCH_EXCHANGE, type: 'topic', durable: true },
            queue: { name: '' },
            ...sinkSettings(s),
          }
        : { enabled: false },
      kafka: s.sinks.includes('kafka') ? { type: 'kafka', brokers: KAFKA_BROKERS, topic: `${r.prefix}-{path}`, ...kafkaClientSetting(s), ...sinkSettings(s) } : { enabled: false },
    },
    routing: { routes: [{ name: 'everything', match: ['*'], destinations }], defaultRoute: null },
    shutdown: { lingerMs: 5000 },
  };
}

/** Gateway processes running now: an interrupted suite must not leave them behind. */
const live = new Set<GatewayProcess>();

interface GatewayRunOptions {
  rate: number;
  records: number;
  /** Run the gateway under node --cpu-prof (files in this folder). */
  profileDir?: string;
  outage?: { beforeSeconds: number; seconds: number };
  name: string;
}

const SINK_NAME: Record<SinkKind, string> = { kafka: 'kafka', amqp: 'rabbitmq' };

function gatewayCounters(m: Sample[]): Record<string, number> {
  const c: Record<string, number> = {
    received: metricSum(m, 'zeek_gateway_records_received_total'),
    rejected: metricSum(m, 'zeek_gateway_ingress_rejected_total'),
    retries: metricSum(m, 'zeek_gateway_sink_retries_total'),
    dropped: metricSum(m, 'zeek_gateway_sink_dropped_total'),
  };
  for (const [kind, name] of Object.entries(SINK_NAME)) {
    const acked = metricSum(m, 'zeek_gateway_sink_acknowledged_total', { sink: name });
    if (acked > 0) c[`acknowledged.${kind}`] = acked;
  }
  return c;
}

async function runGateway(ctx: Ctx, s: ThroughGateway, g: GatewayRunOptions): Promise<ScenarioResult> {
  const d = loadDataset(s.dataset);
  const plan = makePlan(d, g.records);
  const mode = s.kind === 'outage' ? 'outage' : s.mode;
  const res = baseResult(s, plan, mode, s.sinks);
  if (g.rate > 0) res.targetRate = g.rate;
  const r = await createResources(ctx, g.name, plan, s.sinks, (recordsPerMessageSetting(s) ?? 1) > 1);
  const dir = mkdtempSync(join(ctx.tmp, `${g.name}-`));
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(gatewayConfig(s, d, r, endpoint, httpPort), null, 2));
  const gw = new GatewayProcess({
    configFile,
    extraConfigFiles: ctx.o.gatewayConfigs,
    ...(ctx.o.gatewayDir ? { gatewayDir: ctx.o.gatewayDir } : {}),
    httpPort,
    logFile: join(dir, 'gateway.log'),
    ...(g.profileDir ? { cpuProfDir: g.profileDir } : {}),
  });
  live.add(gw);
  void gw.exited.then(() => live.delete(gw));
  const consumers = new Map<SinkKind, Child>();
  let gen: Child | undefined;
  let rabbitStopped = false;
  try {
    await gw.ready();
    const latency = mode === 'fixed';
    if (latency) {
      for (const sink of s.sinks) consumers.set(sink, await startConsumer(ctx, s.dataset, plan.records, r, sink, true));
      await sleep(1000);
    }
    const sendTimesFile = latency ? join(dir, 'send-times.f64') : undefined;
    gen = await startGenerator({
      dataset: s.dataset,
      socket: d.spec.kind === 'cluster' ? 'push' : 'pub',
      endpoint,
      records: plan.records,
      rate: g.rate,
      ...(sendTimesFile ? { sendTimesFile } : {}),
    });
    const before = await gw.metrics();
    const cpu0 = machineCpu();
    gw.startSampling(100);
    // Every scrape costs the gateway's main thread a little: less often while latency is measured.
    const watcher = gw.watchMetrics(mode === 'fixed' ? 2000 : 500);
    gen.send({ type: 'go' });
    const sent = gen.next<GeneratorDone>('done');
    let doneAt: Partial<Record<SinkKind, number>> = {};
    let restartedAt = 0;
    if (g.outage) {
      const { restartedAtMs, ...figures } = await outage(ctx, gw, g.outage, () => (rabbitStopped = true), () => (rabbitStopped = false));
      res.outage = figures;
      restartedAt = restartedAtMs;
    }
    if (mode !== 'fixed') {
      // The acknowledged counters of the watcher's latest scrape (NDJSON runs only).
      const acknowledged = (sink: SinkKind): number => metricSum(watcher.last() ?? [], 'zeek_gateway_sink_acknowledged_total', { sink: SINK_NAME[sink] });
      doneAt = await waitForBrokers(ctx, probesFor(ctx, r, s.sinks, plan.records, acknowledged), plan.records, g.name, [gw, gen]);
    }
    if (res.outage) res.outage.recoverySeconds = round((Math.max(...Object.values(doneAt)) - restartedAt) / 1000, 1);
    const gd = await sent;
    const arrivals = new Map<SinkKind, ConsumerResult>();
    for (const [sink, c] of consumers) arrivals.set(sink, await c.next<ConsumerResult & { [k: string]: unknown }>('done'));
    gw.stopSampling();
    const watched = await watcher.stop();
    res.machineBusyPercent = busyPercent(cpu0);
    const after = await gw.metrics();
    if (watched.memoryAtPeak) res.memoryAtPeak = watched.memoryAtPeak;
    res.maxBufferedRecords = Object.fromEntries(Object.entries(watched.maxBuffered).map(([k, v]) => [k === 'rabbitmq' ? 'amqp' : k, v]));
    res.maxEventLoopLagMs = watched.maxEventLoopLagMs;
    res.gcSeconds = round(metricSum(after, 'zeek_gateway_nodejs_gc_duration_seconds_sum') - metricSum(before, 'zeek_gateway_nodejs_gc_duration_seconds_sum'), 3);
    const cpu = metricSum(after, 'zeek_gateway_process_cpu_seconds_total') - metricSum(before, 'zeek_gateway_process_cpu_seconds_total');
    res.gatewayCpuSeconds = round(cpu, 3);
    res.cpuSecondsPerMillion = round((cpu / plan.records) * 1e6, 2);
    res.generator = generatorFigures(gd);
    res.gatewayCounters = gatewayCounters(after);
    // A broker that failed during a measured run (another job restarted it) spoils the figures.
    if (mode !== 'outage' && (res.gatewayCounters.retries ?? 0) > 0) {
      throw new Error(`a broker failed during the run (${res.gatewayCounters.retries} sink retries; see ${join(dir, 'gateway.log')}): not a measurement`);
    }
    res.gatewayHistogram = {};
    for (const sink of s.sinks) {
      const labels = { sink: SINK_NAME[sink] };
      const p = (q: number): number | undefined => {
        const v = histogramQuantile(after, 'zeek_gateway_delivery_latency_seconds', q, labels);
        return v === undefined ? undefined : round(v * 1000, 2);
      };
      const p50 = p(0.5);
      const p99 = p(0.99);
      res.gatewayHistogram[sink] = {
        ...(p50 !== undefined ? { p50Ms: p50 } : {}),
        ...(p99 !== undefined ? { p99Ms: p99 } : {}),
        count: metricSum(after, 'zeek_gateway_delivery_latency_seconds_count', labels),
      };
    }
    const status = procStatus(gw.pid);
    res.peakRssMB = round(Math.max(status?.hwmBytes ?? 0, gw.peakRssBytes) / MB, 1);
    if (mode === 'fixed') {
      const lastArrival = Math.max(...[...arrivals.values()].map((a) => a.lastMs));
      setRate(res, plan, (lastArrival - gd.startMs) / 1000);
      res.gatewayCores = round(cpu / ((lastArrival - gd.startMs) / 1000), 2);
      res.verification = [...arrivals].map(([sink, a]) => verification(sink, a));
      latencyFigures(ctx, res, d, plan, sendTimesFile as string, arrivals);
    } else {
      const end = Math.max(...Object.values(doneAt));
      setRate(res, plan, (end - gd.startMs) / 1000);
      res.sinkSeconds = Object.fromEntries(Object.entries(doneAt).map(([k, v]) => [k, round((v - gd.startMs) / 1000, 3)]));
      res.gatewayCores = round(cpu / ((end - gd.startMs) / 1000), 2);
    }
    await gen.stop();
    gen = undefined;
    const code = await gw.stop();
    if (code !== 0) throw new Error(`gateway exited with code ${code} (log: ${join(dir, 'gateway.log')})`);
    if (mode !== 'fixed') res.verification = await verifyAll(ctx, s.dataset, plan.records, r, s.sinks, mode === 'outage');
    if (g.profileDir) {
      const f = gw.profileFile();
      if (f) res.profile = analyzeProfile(f);
    }
  } finally {
    if (rabbitStopped) await scriptRun('rabbitmq.sh', 'start-app').catch((e: unknown) => log(`could not restart RabbitMQ: ${String(e)}`));
    for (const c of consumers.values()) await c.stop();
    await gen?.stop();
    await gw.stop();
    await removeResources(ctx, r);
  }
  return res;
}

function latencyFigures(ctx: Ctx, res: ScenarioResult, d: Dataset, plan: Plan, sendTimesFile: string, arrivals: Map<SinkKind, ConsumerResult>): void {
  const buf = readFileSync(sendTimesFile);
  const sendTimes = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
  const steady: Float64Array[] = [];
  const warm: Float64Array[] = [];
  res.latencyBySink = {};
  for (const [sink, a] of arrivals) {
    // Only a complete, in-order, duplicate-free delivery maps arrivals to send times.
    if (!a.arrivals || a.lost > 0 || a.duplicates > 0 || a.outOfOrder > 0 || a.foreign > 0) continue;
    const l = recordLatencies(d, plan, sendTimes, a.arrivals, ctx.o.warmupSeconds * 1000);
    steady.push(l.steady);
    warm.push(l.warmup);
    const st = latencyStats(l.steady);
    if (st) res.latencyBySink[sink] = st;
    (res.latencyBySecond ??= {})[sink] = l.perSecond;
  }
  const all = concat(steady);
  const st = latencyStats(all);
  if (!st) return;
  const warmAll = concat(warm);
  let maxAll = st.maxMs;
  for (const x of warmAll) maxAll = Math.max(maxAll, Math.round(x * 1000) / 1000);
  res.latency = { ...st, warmupExcluded: warmAll.length, maxIncludingWarmupMs: maxAll };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Stops RabbitMQ's application for a while, watching the gateway's buffer and memory. */
async function outage(
  ctx: Ctx,
  gw: GatewayProcess,
  o: { beforeSeconds: number; seconds: number },
  stopped: () => void,
  started: () => void,
): Promise<NonNullable<ScenarioResult['outage']> & { restartedAtMs: number }> {
  const t0 = nowMs();
  let peakRss = 0;
  await sleep(o.beforeSeconds * 1000);
  log(`  stopping RabbitMQ (bash scripts/rabbitmq.sh stop-app) for ${o.seconds} s`);
  stopped();
  await ctx.amqp?.close();
  ctx.amqp = undefined;
  await scriptRun('rabbitmq.sh', 'stop-app');
  const stoppedAt = nowMs();
  const sampler = setInterval(() => {
    const s = procStatus(gw.pid);
    if (s) peakRss = Math.max(peakRss, s.rssBytes);
  }, 100);
  await sleep(o.seconds * 1000);
  clearInterval(sampler);
  log('  starting RabbitMQ again (bash scripts/rabbitmq.sh start-app)');
  await scriptRun('rabbitmq.sh', 'start-app');
  started();
  const startedAt = nowMs();
  const m = await gw.metrics();
  return {
    seconds: round((startedAt - stoppedAt) / 1000, 1),
    stoppedAfterSeconds: round((stoppedAt - t0) / 1000, 1),
    recoverySeconds: 0,
    peakRssDuringOutageMB: round(peakRss / MB, 1),
    // The gateway runs with the shipped defaults (plus --gateway-config experiments, listed at the top).
    defaults: {
      maxRecords: bufferSchema.maxRecords.default,
      maxBytes: bufferSchema.maxBytes.default,
      subReceiveHighWaterMark: subIngressSchema.receiveHighWaterMark.default,
    },
    retries: metricSum(m, 'zeek_gateway_sink_retries_total'),
    dropped: metricSum(m, 'zeek_gateway_sink_dropped_total'),
    restartedAtMs: startedAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Suite

/** A scenario that cannot run on this installation: retrying would not help. */
class CannotRun extends Error {}

async function runScenario(ctx: Ctx, s: Scenario, profileDir?: string): Promise<ScenarioResult> {
  const o = ctx.o;
  if ('kafkaClient' in s && s.kafkaClient === 'librdkafka') {
    // node-rdkafka is an optional package with a native build: without it, the scenario fails
    // at once, saying why, instead of being retried.
    const { error } = loadRdkafka();
    if (error) throw new CannotRun(`the librdkafka client cannot run: ${error}`);
  }
  switch (s.kind) {
    case 'ingress':
      return runIngress(ctx, s);
    case 'kafka-ceiling':
    case 'amqp-ceiling':
      return runBrokerCeiling(ctx, s);
    case 'gateway': {
      const rate = s.mode === 'fixed' ? o.latencyRate : 0;
      // Profiling runs are half as long: they only have to show where the time goes.
      const scale = profileDir ? 0.5 : 1;
      const records = Math.round(scale * (s.mode === 'fixed' ? o.latencyRate * o.latencySeconds : recordsFor(ctx, s.dataset)));
      return runGateway(ctx, s, { rate, records, name: profileDir ? `${s.id}-prof` : s.id, ...(profileDir ? { profileDir } : {}) });
    }
    case 'outage': {
      const records = Math.round(o.outageRate * (o.outageBeforeSeconds + o.outageSeconds + o.outageAfterSeconds));
      return runGateway(ctx, s, {
        rate: o.outageRate,
        records,
        name: profileDir ? `${s.id}-prof` : s.id,
        outage: { beforeSeconds: o.outageBeforeSeconds, seconds: o.outageSeconds },
        ...(profileDir ? { profileDir } : {}),
      });
    }
  }
}

/**
 * Runs a scenario; when it fails (an exception: a broker went away, a run got stuck — the brokers
 * are shared with whoever else uses this machine), makes sure the brokers run and tries again.
 * Verification failures are results, never retried.
 */
async function withRetries(ctx: Ctx, s: Scenario, run: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const errors: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      // The brokers are shared: make sure both run before each measurement.
      if (ctx.o.brokersUp) await brokersUp();
      const r = await run();
      if (errors.length > 0) r.earlierErrors = errors;
      r.attempts = attempt;
      return r;
    } catch (err) {
      const msg = (err as Error).stack ?? String(err);
      errors.push(msg);
      if (attempt > ctx.o.retries || err instanceof CannotRun) {
        const r: ScenarioResult = { id: s.id, kind: s.kind, title: s.title, dataset: s.dataset, sinks: [], mode: 'max', records: 0, jsonBytes: 0, verification: [], error: msg, attempts: attempt };
        if (errors.length > 1) r.earlierErrors = errors.slice(0, -1);
        return r;
      }
      log(`  attempt ${attempt} failed (${msg.split('\n')[0]}); checking the brokers and trying again`);
      await ctx.kafka?.close();
      await ctx.amqp?.close();
      ctx.kafka = undefined;
      ctx.amqp = undefined;
      await sleep(5000 * attempt);
      await brokersUp().catch((e: unknown) => log(`  brokers.sh up: ${(e as Error).message.split('\n')[0]}`));
    }
  }
}

/** Of two runs of a ceiling, the faster one, with both rates noted. */
function betterOf(a: ScenarioResult | undefined, b: ScenarioResult): ScenarioResult {
  if (!a || a.error || a.recordsPerSec === undefined) return b;
  if (b.error || b.recordsPerSec === undefined) return a;
  const best = b.recordsPerSec > a.recordsPerSec ? b : a;
  return { ...best, runsRecordsPerSec: [a.recordsPerSec, b.recordsPerSec] };
}

/** Each maximum-rate gateway scenario against the lowest of its ceilings. */
function applyCeilings(ctx: Ctx, scenarios: Scenario[]): void {
  for (const s of scenarios) {
    if (s.kind !== 'gateway' || s.mode !== 'max') continue;
    const res = ctx.results.get(s.id);
    if (!res || res.recordsPerSec === undefined || res.error) continue;
    const ceilings = s.ceilings.map((id) => ctx.results.get(id)).filter((c): c is ScenarioResult => c?.recordsPerSec !== undefined && !c.error);
    if (ceilings.length !== s.ceilings.length || ceilings.length === 0) continue;
    const lowest = Math.min(...ceilings.map((c) => c.recordsPerSec as number));
    res.ceiling = { ids: s.ceilings, recordsPerSec: lowest };
    res.ratio = round(res.recordsPerSec / lowest, 3);
  }
}

function summary(r: ScenarioResult): string {
  if (r.error) return `FAILED: ${r.error.split('\n')[0]}`;
  const parts = [`${fmt(r.records)} records`];
  if (r.recordsPerSec !== undefined) parts.push(`${fmt(r.recordsPerSec)} rec/s`, `${fmt(r.mbPerSec ?? 0, 1)} MB/s`);
  if (r.ratio !== undefined) parts.push(`${fmt(r.ratio * 100, 1)}% of ceiling`);
  if (r.latency) parts.push(`p50 ${r.latency.p50Ms} ms`, `p99 ${r.latency.p99Ms} ms`, `max ${r.latency.maxMs} ms`);
  if (r.cpuSecondsPerMillion !== undefined) parts.push(`${r.cpuSecondsPerMillion} CPU s/M`);
  if (r.peakRssMB !== undefined) parts.push(`peak RSS ${r.peakRssMB} MB`);
  if (r.generator) parts.push(`generator ${fmt(r.generator.cpuMicrosPerRecord, 1)} µs CPU/record`);
  const bad = r.verification.filter((v) => !v.ok);
  parts.push(bad.length === 0 ? 'verified' : `VERIFICATION FAILED ${JSON.stringify(bad)}`);
  return parts.join(', ');
}

function stamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export async function runSuite(o: SuiteOptions): Promise<{ results: Results; json: string; md: string }> {
  const startedAt = new Date();
  const t0 = nowMs();
  const scenarios = selectScenarios(o);
  log(`scenarios: ${scenarios.map((s) => s.id).join(', ')}`);
  if (o.brokersUp) {
    log('bash scripts/brokers.sh up');
    await brokersUp();
  }
  const machine = await describeMachine();
  log(`machine: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, RabbitMQ ${machine.rabbitmq}, Kafka ${machine.kafka}`);
  for (const name of new Set(scenarios.map((s) => s.dataset))) {
    await prepareDataset(name);
    const d = loadDataset(name);
    log(`dataset ${name}: ${fmt(d.frames.length)} messages, ${fmt(d.totalRecords)} records (${d.source})`);
  }
  const ctx: Ctx = { o, run: runId(), tmp: mkdtempSync(join(os.tmpdir(), 'zlg-bench-')), results: new Map(), seq: 0 };
  const onSignal = (): void => {
    // An interrupted outage run must not leave RabbitMQ stopped.
    log('interrupted: stopping the gateway, making sure RabbitMQ runs, then exiting');
    for (const gw of live) gw.proc.kill('SIGKILL');
    void scriptRun('rabbitmq.sh', 'start-app')
      .catch(() => undefined)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const isCeiling = (s: Scenario): boolean => s.kind !== 'gateway' && s.kind !== 'outage';
    const lastMax = scenarios.findLastIndex((s) => s.kind === 'gateway' && s.mode === 'max');
    for (const [i, s] of scenarios.entries()) {
      log(`${s.id}: ${s.title}`);
      const r = await withRetries(ctx, s, () => runScenario(ctx, s));
      ctx.results.set(s.id, r);
      log(`  ${summary(r)}`);
      // The ceilings again, after the maximum-rate runs: the machine's load drifts, and the
      // ratios use the better of the two runs of each ceiling.
      if (i === lastMax && o.repeatCeilings) {
        for (const c of scenarios.filter(isCeiling)) {
          log(`${c.id}: ${c.title} (again)`);
          const again = await withRetries(ctx, c, () => runScenario(ctx, c));
          log(`  ${summary(again)}`);
          ctx.results.set(c.id, betterOf(ctx.results.get(c.id), again));
        }
      }
    }
    applyCeilings(ctx, scenarios);
    // Profiles: re-run the scenarios whose target was missed (or all) under --cpu-prof.
    const results = [...ctx.results.values()];
    const targets = evaluateTargets(results);
    const profile = o.profile;
    // The outage's target is memory, which the run's memory breakdown covers; a CPU profile of
    // it (another minute of RabbitMQ down) is only made when asked for by name.
    const toProfile = scenarios.filter((s) =>
      Array.isArray(profile)
        ? profile.includes(s.id)
        : s.kind === 'gateway' && (profile === 'all' || (profile === 'auto' && targets.some((t) => t.scenario === s.id && t.pass === false))),
    );
    for (const s of toProfile) {
      log(`${s.id}: profiling (node --cpu-prof)`);
      const profDir = join(os.tmpdir(), 'zlg-bench-profiles', ctx.run, s.id);
      mkdirSync(profDir, { recursive: true });
      try {
        const p = await withRetries(ctx, s, () => runScenario(ctx, s, profDir));
        if (p.error) throw new Error(p.error);
        const r = ctx.results.get(s.id) as ScenarioResult;
        if (p.profile) {
          r.profile = p.profile;
          log(`  ${p.profile.file}`);
          log(`  ${p.profile.topFunctions.slice(0, 3).map((f) => `${f.percent}% ${f.name}`).join('; ')}`);
        }
      } catch (err) {
        log(`  profiling failed: ${(err as Error).message}`);
      }
    }
    const finishedAt = new Date();
    const all = [...ctx.results.values()];
    const res: Results = {
      schema: RESULTS_SCHEMA,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: round((nowMs() - t0) / 1000, 1),
      smoke: o.smoke,
      machine,
      options: { ...o, out: undefined },
      ...(o.gatewayDir ? { gatewayDir: o.gatewayDir } : {}),
      gatewayConfigOverlays: o.gatewayConfigs.map((f) => ({ file: f, config: JSON.parse(readFileSync(f, 'utf8')) as unknown })),
      scenarios: all,
      targets: evaluateTargets(all),
    };
    mkdirSync(o.out, { recursive: true });
    const base = join(resolve(o.out), `${stamp()}-${machine.host}`);
    const json = `${base}.json`;
    const md = `${base}.md`;
    writeFileSync(json, `${JSON.stringify(res, null, 2)}\n`);
    writeFileSync(md, renderMarkdown(res));
    log(`results: ${json}`);
    log(`         ${md}`);
    return { results: res, json, md };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await ctx.kafka?.close();
    await ctx.amqp?.close();
    // Gateway logs and configs stay when something failed.
    if ([...ctx.results.values()].some((r) => r.error || r.verification.some((v) => !v.ok))) log(`logs kept in ${ctx.tmp}`);
    else rmSync(ctx.tmp, { recursive: true, force: true });
  }
}

// Run as a script (bench/run.mjs starts this file).
if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  let opts: SuiteOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  runSuite(opts).then(
    ({ results }) => {
      const failed = results.scenarios.filter((s) => s.error || s.verification.some((v) => !v.ok));
      process.exit(failed.length > 0 ? 1 : 0);
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
