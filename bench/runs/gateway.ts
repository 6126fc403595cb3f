// Runs through the gateway: the gateway as a process between the generator and the brokers,
// steady runs, latency runs and the broker outage.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConsumerResult } from '../consumer.js';
import type { GeneratorDone } from '../generator.js';
import { bufferSchema } from '../../src/buffer/index.js';
import { subIngressSchema } from '../../src/ingress/zmq-sub.js';
import { defaultKafkaOptions } from '../../src/sinks/kafka/options.js';
import { AMQP_URL, BENCH_EXCHANGE, KAFKA_BROKERS, scriptRun } from '../lib/brokers.js';
import { loadDataset, makePlan, type Dataset, type Plan } from '../lib/data.js';
import { GatewayProcess, freePort, histogramQuantile, machineCpu, metricSum, procStatus, sleep, type Sample } from '../lib/gateway.js';
import { nowMs, type Child } from '../lib/ipc.js';
import { analyzeProfile } from '../lib/profile.js';
import { type ScenarioResult } from '../lib/results.js';
import { type GatewayScenario, type KafkaClient, type Scenario, type SinkKind } from '../lib/scenarios.js';
import { latencyStats, recordLatencies } from '../lib/stats.js';
import { MB, log, Ctx, Resources, createResources, removeResources, probesFor, waitForBrokers, startConsumer, verification, verifyAll, startGenerator, generatorFigures, round, kafkaClientOf, recordsPerMessageSetting, baseResult, setRate } from './shared.js';
import { busyPercent } from './ceilings.js';

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
export const live = new Set<GatewayProcess>();

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

export async function runGateway(ctx: Ctx, s: ThroughGateway, g: GatewayRunOptions): Promise<ScenarioResult> {
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
