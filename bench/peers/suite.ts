// The peers benchmark: `npm run bench:peers [-- options]` (or `npm run bench -- --peers`).
//
// What a user would run instead of the gateway, measured in the same run, on the same Zeek records
// (the NCSA load data), into the same brokers, and verified the same way: the gateway with its
// defaults (NCSA SUB → Kafka, → RabbitMQ), Redpanda Connect with its zmq4 input (→ Kafka, → AMQP,
// the same tagged envelope) and rsyslog imczmq → omkafka (frame forwarding, a reference). The peers
// are built and installed outside the repository by scripts/peers.sh (cached); see bench/README.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { bufferSchema } from '../../src/buffer/index.js';
import { defaultKafkaOptions } from '../../src/sinks/kafka/options.js';
import { brokersUp, runId } from '../lib/brokers.js';
import { loadDataset, prepareDataset } from '../lib/data.js';
import { sleep } from '../lib/gateway.js';
import { nowMs } from '../lib/ipc.js';
import { DEFAULTS, type SuiteOptions } from '../lib/scenarios.js';
import { live } from '../runs/gateway.js';
import { fmt, log, round, type Ctx } from '../runs/shared.js';
import { describeMachine, stamp } from '../suite.js';
import { renderPeersMarkdown } from './report.js';
import { PEERS_SCHEMA, applyRatios, bestOfRounds, verified, type GatewayDefaults, type PeerRunResult, type PeerScenario, type PeersResults } from './results.js';
import { runGatewayPeer, runPeerProcess, type PeerBinaries } from './runs.js';

/** In suite order: each broker's gateway run first, its peers right after. */
export const PEER_SCENARIOS: PeerScenario[] = [
  { id: 'gateway-kafka', tool: 'gateway', sink: 'kafka', title: 'gateway (defaults): NCSA SUB → Kafka' },
  { id: 'rpconnect-kafka', tool: 'redpanda-connect', sink: 'kafka', title: 'Redpanda Connect: zmq4 SUB → kafka_franz, tagged' },
  { id: 'rsyslog-kafka', tool: 'rsyslog', sink: 'kafka', title: 'rsyslog: imczmq SUB → omkafka, frames (reference)' },
  { id: 'gateway-amqp', tool: 'gateway', sink: 'amqp', title: 'gateway (defaults): NCSA SUB → RabbitMQ' },
  { id: 'rpconnect-amqp', tool: 'redpanda-connect', sink: 'amqp', title: 'Redpanda Connect: zmq4 SUB → amqp_0_9, tagged' },
];

export interface PeersOptions {
  records: number;
  /** Times the whole list runs, interleaved; each scenario's best verified run counts. */
  rounds: number;
  select: string[];
  out: string;
  brokersUp: boolean;
  /** Run scripts/peers.sh build first (idempotent: cached builds are reused). */
  build: boolean;
  retries: number;
}

const PEERS_DEFAULTS: PeersOptions = { records: 100_000, rounds: 2, select: [], out: 'bench/results', brokersUp: true, build: true, retries: 2 };

const USAGE = `usage: npm run bench:peers -- [options]      (or: npm run bench -- --peers [options])
  --records N          records per run (default ${fmt(PEERS_DEFAULTS.records)})
  --rounds N           run the list N times, interleaved; each scenario's best verified round counts (default ${PEERS_DEFAULTS.rounds})
  --only a,b           run only these (${PEER_SCENARIOS.map((s) => s.id).join(', ')})
  --out DIR            where peers-<date>-<host>.json and .md go (default bench/results)
  --retries N          re-runs of a run that failed with an error (default ${PEERS_DEFAULTS.retries})
  --no-build           do not run scripts/peers.sh build first (peers missing: their runs fail)
  --no-brokers-up      do not run scripts/brokers.sh up first`;

export function parsePeersArgs(argv: string[]): PeersOptions {
  const o: PeersOptions = { ...PEERS_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => (eq > 0 ? a.slice(eq + 1) : (argv[++i] ?? ''));
    if (flag === '--records' || flag === '--rounds' || flag === '--retries') {
      const x = Number(value());
      if (!Number.isInteger(x) || x < (flag === '--retries' ? 0 : 1)) throw new Error(`${flag} needs a whole number\n${USAGE}`);
      if (flag === '--records') o.records = x;
      else if (flag === '--rounds') o.rounds = x;
      else o.retries = x;
    } else if (flag === '--only') o.select = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '--out') o.out = value();
    else if (flag === '--no-build') o.build = false;
    else if (flag === '--no-brokers-up') o.brokersUp = false;
    else if (flag === '--peers') continue;
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const id of o.select) if (!PEER_SCENARIOS.some((s) => s.id === id)) throw new Error(`no run called ${id}\n${USAGE}`);
  return o;
}

/** scripts/peers.sh build (unless told not to), then where the peers are. */
function peerBinaries(o: PeersOptions): PeerBinaries {
  if (o.build) {
    log('bash scripts/peers.sh build (cached after the first time; the first Go build takes minutes)');
    try {
      execFileSync('bash', ['scripts/peers.sh', 'build'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60_000 });
    } catch {
      log('scripts/peers.sh build failed: the runs of what is missing will fail, saying so');
    }
  }
  const env = Object.fromEntries(
    execFileSync('bash', ['scripts/peers.sh', 'env'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { rpconnect: env.RPCONNECT ?? '', rsyslogd: env.RSYSLOGD ?? '' };
}

const quiet = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
};

/** The peers' versions as they report them (and the Debian packages under rsyslog). */
function peerVersions(b: PeerBinaries): Record<string, string> {
  const v: Record<string, string> = {};
  if (b.rpconnect) {
    // The module versions linked in (the binary's --version says the engine's only).
    const mods = quiet('go', ['version', '-m', b.rpconnect]);
    const mod = (name: string): string => new RegExp(`\\s${name.replace(/[/.]/g, '\\$&')}\\s+(v\\S+)`).exec(mods)?.[1] ?? '?';
    v['Redpanda Connect'] = `connect ${mod('github.com/redpanda-data/connect/v4')} (engine benthos ${mod('github.com/redpanda-data/benthos/v4')}), franz-go ${mod('github.com/twmb/franz-go')}, amqp091-go ${mod('github.com/rabbitmq/amqp091-go')}, pebbe/zmq4 ${mod('github.com/pebbe/zmq4')}`;
  }
  if (b.rsyslogd) {
    const first = (quiet(b.rsyslogd, ['-v']).split('\n')[0] ?? '').replace(/\s*compiled with:.*$/, '').trim();
    const pkgs = quiet('dpkg-query', ['-W', '-f', '${Package} ${Version}, ', 'rsyslog-czmq', 'rsyslog-kafka', 'librdkafka1', 'libczmq4']).replace(/, $/, '');
    v.rsyslog = `${first.replace(/\s+/g, ' ')}; ${pkgs}`;
  }
  const zmq = quiet('dpkg-query', ['-W', '-f', '${Version}', 'libzmq5']);
  if (zmq) v['libzmq (Debian, for the peers)'] = zmq;
  return v;
}

function gatewayDefaults(): GatewayDefaults {
  const k = defaultKafkaOptions();
  return {
    kafkaClient: k.client,
    kafkaIdempotent: k.idempotent,
    kafkaMaxInFlight: bufferSchema.maxInFlight.default,
    // The AMQP sink kind's own buffer default (src/sinks/amqp/index.ts).
    amqpMaxInFlight: 20,
    batchMaxRecords: bufferSchema.batchMaxRecords.default,
    batchMaxBytes: bufferSchema.batchMaxBytes.default,
  };
}

function summary(r: PeerRunResult): string {
  if (r.error) return `FAILED: ${r.error.split('\n')[0]}`;
  const parts = [`${fmt(r.recordsPerSec ?? 0)} rec/s`, `${fmt(r.cpuMicrosPerRecord ?? 0, 1)} CPU µs/record`, `peak RSS ${fmt(r.peakRssMB ?? 0, 1)} MB`];
  parts.push(verified(r) ? 'verified' : `NOT VERIFIED ${JSON.stringify(r.frames ?? r.verification)}`);
  return parts.join(', ');
}

async function withRetries(ctx: Ctx, o: PeersOptions, s: PeerScenario, round: number, run: () => Promise<PeerRunResult>): Promise<PeerRunResult> {
  const errors: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      if (o.brokersUp) await brokersUp();
      const r = await run();
      r.attempts = attempt;
      if (errors.length > 0) r.earlierErrors = errors;
      return r;
    } catch (err) {
      const msg = (err as Error).stack ?? String(err);
      errors.push(msg);
      if (attempt > o.retries || /not built|not installed/.test(msg)) {
        return { id: s.id, round, tool: s.tool, sink: s.sink, title: s.title, records: 0, jsonBytes: 0, brokerMessages: 0, error: msg, attempts: attempt, ...(errors.length > 1 ? { earlierErrors: errors.slice(0, -1) } : {}) };
      }
      log(`  attempt ${attempt} failed (${msg.split('\n')[0]}); trying again`);
      await ctx.kafka?.close();
      await ctx.amqp?.close();
      ctx.kafka = undefined;
      ctx.amqp = undefined;
      await sleep(5000 * attempt);
    }
  }
}

export async function runPeersSuite(o: PeersOptions): Promise<{ results: PeersResults; json: string; md: string }> {
  const startedAt = new Date();
  const t0 = nowMs();
  const scenarios = PEER_SCENARIOS.filter((s) => o.select.length === 0 || o.select.includes(s.id));
  const bins = peerBinaries(o);
  log(`Redpanda Connect: ${bins.rpconnect || 'not built'}; rsyslogd: ${bins.rsyslogd || 'not installed'}`);
  if (o.brokersUp) {
    log('bash scripts/brokers.sh up');
    await brokersUp();
  }
  const machine = await describeMachine();
  await prepareDataset('ncsa');
  const d = loadDataset('ncsa');
  log(`dataset ncsa: ${fmt(d.frames.length)} messages (${d.source}); ${fmt(o.records)} records per run`);
  const suiteOptions: SuiteOptions = { ...DEFAULTS, ncsaRecords: o.records, profile: 'none', brokersUp: o.brokersUp, retries: o.retries, out: o.out };
  const ctx: Ctx = { o: suiteOptions, run: runId(), tmp: mkdtempSync(join(os.tmpdir(), 'zlg-bench-peers-')), results: new Map(), seq: 0 };
  const onSignal = (): void => {
    for (const gw of live) gw.proc.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const runs: PeerRunResult[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const s of scenarios) {
        log(`${s.id}${o.rounds > 1 ? ` (round ${round} of ${o.rounds})` : ''}: ${s.title}`);
        const r = await withRetries(ctx, o, s, round, () => (s.tool === 'gateway' ? runGatewayPeer(ctx, s, round, o.records) : runPeerProcess(ctx, s, round, o.records, bins)));
        runs.push(r);
        log(`  ${summary(r)}`);
      }
    }
    const best = bestOfRounds(runs);
    applyRatios(best);
    const results: PeersResults = {
      schema: PEERS_SCHEMA,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      durationSeconds: round((nowMs() - t0) / 1000, 1),
      machine,
      peers: peerVersions(bins),
      gatewayDefaults: gatewayDefaults(),
      options: { ...o, out: undefined },
      runs,
      summary: best,
    };
    mkdirSync(o.out, { recursive: true });
    const base = join(resolve(o.out), `peers-${stamp()}-${machine.host}`);
    const json = `${base}.json`;
    const md = `${base}.md`;
    writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(md, renderPeersMarkdown(results));
    log(`results: ${json}`);
    log(`         ${md}`);
    return { results, json, md };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await ctx.kafka?.close();
    await ctx.amqp?.close();
    if (runs.some((r) => !verified(r))) log(`logs and configs kept in ${ctx.tmp}`);
    else rmSync(ctx.tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  let opts: PeersOptions;
  try {
    opts = parsePeersArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  runPeersSuite(opts).then(
    ({ results }) => process.exit(results.summary.every(verified) ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`bench:peers: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
