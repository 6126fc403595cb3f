// The gateway's own cost per record, A/B: runs two (or more) gateway builds in alternation on the
// same records and reports each one's CPU-µs per record, rate and true peak RSS (VmHWM), and the
// ratios against the first build. The `null` sink (the console sink writing to /dev/null, which
// acknowledges a batch once written) takes the broker client out of the figure, so what remains
// is ZeroMQ receive, validation, routing, envelopes, the buffer and the metrics.
//
//   node --import tsx bench/cost.ts --gateway base=/tmp/main --gateway new=. [--sink null|kafka|amqp]
//        [--dataset ncsa|cluster|cluster-bigbatch] [--records N] [--rounds R] [--cpu-prof DIR] [--out FILE]
//        [--node-args new=--max-semi-space-size=4]   (node options of one build's gateway; the same dir may run twice under two names)
//        [--env new=MALLOC_ARENA_MAX=2]              (an environment variable of one build's gateway)
//        [--sink-options '{"recordsPerMessage":100}'] (merged into the sink's config: NDJSON, the throughput configuration)
//
// The node running this script runs the gateways too (process.execPath): run it with the Node
// binary to measure. Each build needs its dist/ (npm run build). Rounds alternate the order
// (A B, B A, ...) so that a drift of the shared machine's load does not favour one build.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { GeneratorDone } from './generator.js';
import { AMQP_URL, BENCH_EXCHANGE, KAFKA_BROKERS, runId } from './lib/brokers.js';
import { loadDataset, makePlan, prepareDataset } from './lib/data.js';
import { GatewayProcess, freePort, metricSum, procCpuSeconds, procStatus, sleep } from './lib/gateway.js';
import { nowMs } from './lib/ipc.js';
import { analyzeProfile } from './lib/profile.js';
import type { SinkKind, SuiteOptions } from './lib/scenarios.js';
import { createResources, removeResources, startGenerator, type Ctx } from './runs/shared.js';

type CostSink = 'null' | SinkKind;

const { values } = parseArgs({
  options: {
    gateway: { type: 'string', multiple: true },
    /** name=flags: node options for that build's gateway, space-separated (`new=--max-semi-space-size=4`). */
    'node-args': { type: 'string', multiple: true },
    /** name=VAR=value: an environment variable for that build's gateway (repeatable). */
    env: { type: 'string', multiple: true },
    sink: { type: 'string', default: 'null' },
    dataset: { type: 'string', default: 'ncsa' },
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    /** JSON merged into the sink's config (`{"recordsPerMessage":100,"buffer":{"maxInFlight":8}}`). */
    'sink-options': { type: 'string' },
    out: { type: 'string' },
  },
});

const builds = (values.gateway ?? ['this=.']).map((g) => {
  const at = g.indexOf('=');
  return at < 0 ? { name: g, dir: resolve(g) } : { name: g.slice(0, at), dir: resolve(g.slice(at + 1)) };
});
const nodeArgs = new Map((values['node-args'] ?? []).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1).split(' ').filter(Boolean)]));
const envs = new Map<string, Record<string, string>>();
for (const e of values.env ?? []) {
  const [name = '', variable = '', ...value] = e.split('=');
  envs.set(name, { ...envs.get(name), [variable]: value.join('=') });
}
const sink = values.sink as CostSink;
const dataset = values.dataset as string;
const records = Number(values.records);
const rounds = Number(values.rounds);
const SINK_NAME: Record<CostSink, string> = { null: 'null', kafka: 'kafka', amqp: 'rabbitmq' };

interface Run {
  build: string;
  round: number;
  records: number;
  recordsPerSec: number;
  cpuMicrosPerRecord: number;
  hwmMB: number;
  /** Largest seen by the scrapes (every 500 ms): V8 heap reserved, external memory, sink buffer bytes. */
  heapMB: number;
  externalMB: number;
  bufferedMB: number;
  generatorStalls: number;
  profile?: string;
}

const ctx: Ctx = { o: {} as SuiteOptions, run: runId(), tmp: mkdtempSync(join(tmpdir(), 'zlg-cost-')), results: new Map(), seq: 0 };

function sinkConfig(prefix: string): Record<string, unknown> {
  const extra = values['sink-options'] ? (JSON.parse(values['sink-options']) as Record<string, unknown>) : {};
  const all = baseSinkConfig(prefix);
  const name = SINK_NAME[sink];
  return { ...all, [name]: { ...(all[name] as Record<string, unknown>), ...extra } };
}

function baseSinkConfig(prefix: string): Record<string, unknown> {
  const off = { enabled: false };
  if (sink === 'null') return { rabbitmq: off, kafka: off, null: { type: 'console', file: '/dev/null' } };
  if (sink === 'kafka') return { rabbitmq: off, kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic: `${prefix}-{path}` } };
  return {
    kafka: off,
    rabbitmq: {
      type: 'amqp',
      url: AMQP_URL,
      exchange: BENCH_EXCHANGE,
      routingKey: `${prefix}.{path}`,
      declareExchange: { name: BENCH_EXCHANGE, type: 'topic', durable: true },
      queue: { name: '' },
    },
  };
}

async function runOnce(build: { name: string; dir: string }, round: number): Promise<Run> {
  const d = loadDataset(dataset);
  const plan = makePlan(d, records);
  const cluster = d.spec.kind === 'cluster';
  const r = await createResources(ctx, build.name.replace(/[^a-zA-Z0-9_-]/g, '_'), plan, sink === 'null' ? [] : [sink]);
  const dir = mkdtempSync(join(ctx.tmp, `${build.name}-${round}-`));
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      log: { level: 'warn' },
      http: { enabled: true, host: '127.0.0.1', port: httpPort },
      ingress: { sub: { enabled: !cluster, endpoints: [endpoint] }, pull: { enabled: cluster, endpoints: [endpoint] } },
      sinks: sinkConfig(r.prefix),
      routing: { routes: [{ name: 'everything', match: ['*'], destinations: [{ sink: SINK_NAME[sink] }] }], defaultRoute: null },
      shutdown: { lingerMs: 5000 },
    }),
  );
  const profDir = values['cpu-prof'] ? resolve(values['cpu-prof'], `${build.name}-${round}`) : undefined;
  const gw = new GatewayProcess({ configFile, httpPort, logFile: join(dir, 'gateway.log'), gatewayDir: build.dir, nodeArgs: nodeArgs.get(build.name) ?? [], env: envs.get(build.name) ?? {}, ...(profDir ? { cpuProfDir: profDir } : {}) });
  try {
    await gw.ready();
    const gen = await startGenerator({ dataset, socket: cluster ? 'push' : 'pub', endpoint, records: plan.records, rate: 0 });
    const cpu0 = procCpuSeconds(gw.pid) as number;
    gen.send({ type: 'go' });
    const sent = gen.next<GeneratorDone>('done');
    // The largest V8 heap and external (Buffer) memory the scrapes saw: what the peak RSS is made of.
    const peak = { heapMB: 0, externalMB: 0, bufferedMB: 0 };
    const acked = async (): Promise<number> => {
      const m = await gw.metrics();
      const mb = (name: string): number => Math.round(metricSum(m, name) / 1e5) / 10;
      peak.heapMB = Math.max(peak.heapMB, mb('zeek_gateway_nodejs_heap_size_total_bytes'));
      peak.externalMB = Math.max(peak.externalMB, mb('zeek_gateway_nodejs_external_memory_bytes'));
      peak.bufferedMB = Math.max(peak.bufferedMB, mb('zeek_gateway_sink_buffer_bytes'));
      return metricSum(m, 'zeek_gateway_sink_acknowledged_total');
    };
    let end = 0;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      if ((await acked()) >= plan.records) {
        end = nowMs();
        break;
      }
      if (gw.failure) throw gw.failure;
      // As often as the suite scrapes: every scrape costs the gateway a little.
      await sleep(500);
    }
    if (end === 0) throw new Error(`${build.name}: not every record acknowledged in 10 minutes (${dir})`);
    const cpu = (procCpuSeconds(gw.pid) as number) - cpu0;
    const g = await sent;
    const hwm = procStatus(gw.pid)?.hwmBytes ?? 0;
    await gen.stop();
    await gw.stop();
    const run: Run = {
      build: build.name,
      round,
      records: plan.records,
      recordsPerSec: Math.round(plan.records / ((end - g.startMs) / 1000)),
      cpuMicrosPerRecord: Math.round((cpu / plan.records) * 1e7) / 10,
      hwmMB: Math.round(hwm / 1e5) / 10,
      ...peak,
      generatorStalls: g.stalls,
    };
    const prof = gw.profileFile();
    if (prof) run.profile = prof;
    return run;
  } finally {
    await gw.stop();
    await removeResources(ctx, r);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

await prepareDataset(dataset);
const runs: Run[] = [];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? builds : [...builds].reverse();
  for (const b of order) {
    const run = await runOnce(b, round);
    runs.push(run);
    process.stdout.write(`${JSON.stringify(run)}\n`);
  }
}
const summary = builds.map((b) => {
  const mine = runs.filter((r) => r.build === b.name);
  return {
    build: b.name,
    dir: b.dir,
    cpuMicrosPerRecord: median(mine.map((r) => r.cpuMicrosPerRecord)),
    recordsPerSec: median(mine.map((r) => r.recordsPerSec)),
    hwmMB: Math.max(...mine.map((r) => r.hwmMB)),
  };
});
const base = summary[0];
const result = {
  node: process.version,
  sink,
  dataset,
  records,
  rounds,
  summary: summary.map((s) => ({
    ...s,
    cpuRatio: base ? Math.round((s.cpuMicrosPerRecord / base.cpuMicrosPerRecord) * 1000) / 1000 : 1,
    rateRatio: base ? Math.round((s.recordsPerSec / base.recordsPerSec) * 1000) / 1000 : 1,
  })),
  runs,
  profiles: runs.filter((r) => r.profile).map((r) => ({ build: r.build, round: r.round, ...analyzeProfile(r.profile as string, 20) })),
};
console.table(result.summary.map(({ dir: _dir, ...s }) => s));
if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
await ctx.kafka?.close();
await ctx.amqp?.close();
process.exit(0);
