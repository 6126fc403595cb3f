// The benchmark suite: `npm run bench [-- options]` (see bench/README.md).
//
// Every figure comes from this one run on this machine: the ceilings (bare zeromq.js receive
// loop, bare kafkajs and @platformatic/kafka producers, bare amqplib publisher) and the gateway
// scenarios (the Kafka sink with either client) replay the same
// records, and every run ends only when the broker has every record; each run is then verified
// by consuming the broker's copy record by record.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { brokerVersions, brokersUp, runId, scriptRun } from './lib/brokers.js';
import { loadDataset, prepareDataset } from './lib/data.js';
import { sleep } from './lib/gateway.js';
import { nowMs } from './lib/ipc.js';
import { renderMarkdown } from './lib/report.js';
import { RESULTS_SCHEMA, evaluateTargets, type Machine, type Results, type ScenarioResult } from './lib/results.js';
import { DEFAULTS, SMOKE, selectScenarios, type Scenario, type SuiteOptions } from './lib/scenarios.js';
import { log, fmt, Ctx, recordsFor, round } from './runs/shared.js';
import { runIngress, runBrokerCeiling } from './runs/ceilings.js';
import { live, runGateway } from './runs/gateway.js';

// ---------------------------------------------------------------------------------------------
// Options

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
  --kafka-in-flight N      batches in flight in the kafkajs and @platformatic/kafka Kafka ceilings (default ${DEFAULTS.kafkaInFlight})
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
  return o;
}

// ---------------------------------------------------------------------------------------------
// Machine

/** The version of an installed package. */
function libVersion(name: string): string {
  try {
    return String((JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as Record<string, unknown>).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(): Promise<Machine> {
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
      ...Object.fromEntries(['@platformatic/kafka', 'kafkajs', 'amqplib', 'zeromq'].map((n) => [n, libVersion(n)])),
    },
    gatewayVersion: (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version,
    gitCommit,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

// ---------------------------------------------------------------------------------------------
// Suite

async function runScenario(ctx: Ctx, s: Scenario, profileDir?: string): Promise<ScenarioResult> {
  const o = ctx.o;
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
      if (attempt > ctx.o.retries) {
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

/** Today's date, as the results files are named. */
export function stamp(): string {
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
