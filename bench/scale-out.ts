// Scale-out benchmark: `npm run bench:scale-out [-- options]`. A Zeek cluster PUSHes its log
// batches round-robin to every logger it knows; here one PUSH load generator (the cluster load
// dataset, as fast as the gateways take it) is connected to N gateway processes, each with its own
// PULL endpoint and HTTP port (and spool directory with --spool), all producing to the same Kafka
// topics. The same run measures 1 gateway and N, so the aggregate rate and the scaling factor come
// from one machine state. Verified: the topics hold exactly the records sent (none lost, none twice).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_BROKERS, KafkaAdmin, runId, topicOf } from './lib/brokers.js';
import { loadDataset, makePlan, prepareDataset } from './lib/data.js';
import { GatewayProcess, freePort, machineCpu, metricSum, procCpuSeconds, procStatus, sleep } from './lib/gateway.js';
import { nowMs, startChild } from './lib/ipc.js';
import type { GeneratorDone } from './generator.js';

const USAGE = `usage: npm run bench:scale-out -- [options]
  --gateways N     gateways of the scaled-out run (default 2; a 1-gateway run comes first)
  --records N      records per run, cluster load dataset (default 1000000)
  --client C       the Kafka sink's client (default: the gateway's default)
  --ndjson         the throughput configuration: recordsPerMessage 100, 8 batches in flight
  --spool          each gateway spools to its own directory (fsync interval)
  --out DIR        where scale-out-<date>-<host>.json goes (default bench/results)`;

interface Options {
  gateways: number;
  records: number;
  client?: string;
  ndjson: boolean;
  spool: boolean;
  out: string;
}

function parse(argv: string[]): Options {
  const o: Options = { gateways: 2, records: 1_000_000, ndjson: false, spool: false, out: 'bench/results' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--gateways') o.gateways = Number(value());
    else if (a === '--records') o.records = Number(value());
    else if (a === '--client') o.client = value();
    else if (a === '--ndjson') o.ndjson = true;
    else if (a === '--spool') o.spool = true;
    else if (a === '--out') o.out = value();
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!Number.isInteger(o.gateways) || o.gateways < 1) throw new Error(`--gateways must be a whole number ≥ 1\n${USAGE}`);
  if (!Number.isInteger(o.records) || o.records < 1) throw new Error(`--records must be a whole number ≥ 1\n${USAGE}`);
  return o;
}

interface RunResult {
  gateways: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** Per gateway: records it delivered, its CPU seconds and true peak RSS (VmHWM). */
  perGateway: Array<{ delivered: number; cpuSeconds: number; cpuMicrosPerRecord: number; peakRssMB: number }>;
  machineBusyPercent: number;
  verified: boolean;
}

const log = (line: string): void => void process.stderr.write(`[scale-out ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function runOnce(o: Options, n: number, admin: KafkaAdmin): Promise<RunResult> {
  const d = loadDataset('cluster');
  const plan = makePlan(d, o.records);
  const prefix = `${runId()}-x${n}`;
  const topics = Object.keys(plan.perPath).map((p) => topicOf(prefix, p));
  await admin.createTopics(topics);
  const dir = mkdtempSync(join(tmpdir(), 'zlg-scale-out-'));
  const gateways: GatewayProcess[] = [];
  const endpoints: string[] = [];
  const generator = startChild('generator');
  try {
    for (let i = 0; i < n; i++) {
      const endpoint = `tcp://127.0.0.1:${await freePort()}`;
      const httpPort = await freePort();
      const buffer = {
        ...(o.ndjson ? { maxInFlight: 8 } : {}),
        ...(o.spool ? { spool: { enabled: true, dir: join(dir, `spool-${i}`) } } : {}),
      };
      const kafka = {
        type: 'kafka',
        brokers: KAFKA_BROKERS,
        topic: `${prefix}-{path}`,
        ...(o.client ? { client: o.client } : {}),
        ...(o.ndjson ? { recordsPerMessage: 100 } : {}),
        buffer,
      };
      const configFile = join(dir, `gateway-${i}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          ingress: { sub: { enabled: false }, pull: { enabled: true, endpoints: [endpoint] } },
          http: { port: httpPort },
          log: { level: 'warn' },
          sinks: { rabbitmq: { enabled: false }, kafka },
          routing: { routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
        }),
      );
      gateways.push(new GatewayProcess({ configFile, httpPort, logFile: join(dir, `gateway-${i}.log`) }));
      endpoints.push(endpoint);
    }
    await Promise.all(gateways.map((g) => g.ready()));
    generator.send({ type: 'prepare', job: { dataset: 'cluster', socket: 'push', endpoint: endpoints[0], alsoEndpoints: endpoints.slice(1), records: o.records, rate: 0 } });
    await generator.next('ready', 60_000);
    const cpu0 = gateways.map((g) => procCpuSeconds(g.pid) ?? 0);
    const machine0 = machineCpu();
    generator.send({ type: 'go' });
    // Done when the topics hold every record (their high-water marks; they start empty).
    let held = 0;
    let doneAt = 0;
    let lastMove = nowMs();
    while (held < plan.records) {
      for (const g of gateways) if (g.failure) throw g.failure;
      if (generator.failure) throw generator.failure;
      await sleep(o.ndjson ? 50 : 100);
      const now = await admin.count(topics);
      if (now !== held) [held, lastMove] = [now, nowMs()];
      if (nowMs() - lastMove > 60_000) throw new Error(`stuck at ${held} of ${plan.records} records`);
      doneAt = nowMs();
    }
    const machine1 = machineCpu();
    const sent = await generator.next<GeneratorDone>('done', 60_000);
    const cpu = gateways.map((g, i) => (procCpuSeconds(g.pid) ?? 0) - (cpu0[i] as number));
    const delivered = await Promise.all(gateways.map(async (g) => metricSum(await g.metrics(), 'zeek_gateway_sink_acknowledged_total')));
    const hwm = gateways.map((g) => (procStatus(g.pid)?.hwmBytes ?? 0) / 1e6);
    // Anything written twice would show up here, a little after the last record.
    await sleep(2000);
    const final = await admin.count(topics);
    const seconds = (doneAt - sent.startMs) / 1000;
    const r: RunResult = {
      gateways: n,
      records: plan.records,
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSec: Math.round(plan.records / seconds),
      perGateway: gateways.map((_, i) => ({
        delivered: delivered[i] as number,
        cpuSeconds: Math.round((cpu[i] as number) * 100) / 100,
        cpuMicrosPerRecord: Math.round(((cpu[i] as number) * 1e6 * 10) / Math.max(1, delivered[i] as number)) / 10,
        peakRssMB: Math.round(hwm[i] as number),
      })),
      machineBusyPercent: Math.round((1000 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total)) / 10,
      verified: final === plan.records && delivered.reduce((a, b) => a + b, 0) === plan.records,
    };
    log(
      `${n} gateway(s): ${r.records.toLocaleString('en')} records in ${r.seconds} s = ${r.recordsPerSec.toLocaleString('en')} records/s; ` +
        `per gateway ${r.perGateway.map((g) => `${g.delivered} records, ${g.cpuMicrosPerRecord} CPU-µs/record, ${g.peakRssMB} MB peak`).join(' | ')}; ` +
        `machine busy ${r.machineBusyPercent}%; ${r.verified ? 'verified: every record exactly once' : `NOT verified: topics hold ${final}`}`,
    );
    return r;
  } finally {
    await generator.stop();
    await Promise.all(gateways.map((g) => g.stop()));
    await admin.deleteTopics(topics).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  await prepareDataset('cluster');
  const admin = await KafkaAdmin.connect();
  const load = loadavg().map((x) => Math.round(x * 100) / 100);
  log(`Node ${process.version}, load average ${load.join(' / ')}`);
  const runs: RunResult[] = [];
  try {
    for (const n of o.gateways === 1 ? [1] : [1, o.gateways]) runs.push(await runOnce(o, n, admin));
  } finally {
    await admin.close();
  }
  const single = runs[0] as RunResult;
  const scaled = runs[runs.length - 1] as RunResult;
  log(`scaling: ${scaled.gateways} gateways take ${Math.round((100 * scaled.recordsPerSec) / single.recordsPerSec) / 100}× the records/s of one`);
  mkdirSync(o.out, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const file = join(o.out, `scale-out-${date}-${hostname()}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, loadAverageAtStart: load, options: o, runs }, null, 2)}\n`);
  log(`results: ${file}`);
  if (runs.some((r) => !r.verified)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`scale-out: ${(err as Error).message}\n`);
  process.exit(1);
});
