// The shape of bench/results/<date>-<host>.json, and the targets the results are judged against.
import type { MemorySnapshot } from './gateway.js';
import type { ProfileSummary } from './profile.js';
import type { LatencyStats, SecondStats } from './stats.js';
import type { KafkaClient, SinkKind } from './scenarios.js';

export const RESULTS_SCHEMA = 'zeek-log-gateway-bench/1';

export interface Machine {
  host: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  rabbitmq: string;
  kafka: string;
  libraries: Record<string, string>;
  gatewayVersion: string;
  gitCommit: string;
  loadAverageAtStart: number[];
}

export interface Verification {
  sink: SinkKind | 'bare';
  received: number;
  lost: number;
  duplicates: number;
  /** Records that are not the plan's (wrong bytes or envelope). */
  foreign: number;
  outOfOrder: number;
  /** AMQP redeliveries to the verifying consumer of records it had already counted (its connection was lost). */
  redelivered?: number;
  /** Broker messages that carried the records, when fewer than the records (NDJSON: each message split into its records). */
  messages?: number;
  ok: boolean;
}

export interface GeneratorFigures {
  /** Records per second the generator sent (bounded by the receiver when it pushes back). */
  recordsPerSec: number;
  cpuSeconds: number;
  /** Generator CPU per record: 1e6/this is its rate on one free core. */
  cpuMicrosPerRecord: number;
  /** Sends that found the receiver's queue full and waited (backpressure reached the generator). */
  stalls: number;
}

export interface ScenarioResult {
  id: string;
  kind: string;
  title: string;
  dataset: string;
  sinks: SinkKind[];
  /** The Kafka client measured (kafkajs or platformatic), when the scenario has a Kafka sink. */
  kafkaClient?: KafkaClient;
  /** The sinks' recordsPerMessage, when the scenario set it (NDJSON; absent: one record per message). Read it with recordsPerMessageOf. */
  recordsPerMessage?: number;
  /** Results from before the Kafka sink had NDJSON (2026-12-03): the AMQP sink's recordsPerMessage. Read it with recordsPerMessageOf. */
  amqpRecordsPerMessage?: number;
  mode: 'max' | 'fixed' | 'outage';
  /** Records sent and expected at each broker. */
  records: number;
  /** JSON bytes of those records (the record as Zeek writes it; envelope and framing excluded). */
  jsonBytes: number;
  seconds?: number;
  recordsPerSec?: number;
  mbPerSec?: number;
  /** Per sink, when the broker had every record (seconds after the first send). */
  sinkSeconds?: Partial<Record<SinkKind, number>>;
  ceiling?: { ids: string[]; recordsPerSec: number };
  /** recordsPerSec / ceiling.recordsPerSec */
  ratio?: number;
  targetRate?: number;
  /** Send (generator, before zmq send) → arrival at the consumer; records sent during warm-up excluded. */
  latency?: LatencyStats & { warmupExcluded: number; maxIncludingWarmupMs: number };
  latencyBySink?: Partial<Record<SinkKind, LatencyStats>>;
  /** Per sink, per second of the run (by send time): records, slowest, and how many over 25 ms. */
  latencyBySecond?: Partial<Record<SinkKind, SecondStats[]>>;
  /** The gateway's own histogram (ingress receipt → broker ack), bucket-interpolated, whole run. */
  gatewayHistogram?: Partial<Record<SinkKind, { p50Ms?: number; p99Ms?: number; count: number }>>;
  gatewayCpuSeconds?: number;
  cpuSecondsPerMillion?: number;
  /** Gateway CPU seconds per wall second during the run (1.0 = one core busy). */
  gatewayCores?: number;
  /** VmHWM of the gateway process (its peak resident set over its whole life). */
  peakRssMB?: number;
  generator?: GeneratorFigures;
  /** A ceiling run twice (before and after the gateway's maximum-rate runs): both rates; the figures are the better run's. */
  runsRecordsPerSec?: number[];
  /** The bare ceiling process's own CPU. */
  clientCpuSeconds?: number;
  verification: Verification[];
  gatewayCounters?: Record<string, number>;
  /** Machine-wide CPU busy share during the run (all cores, all processes: noise indicator). */
  machineBusyPercent?: number;
  /** Most records each sink held (the gateway's buffer gauge, polled every 0.5 s). */
  maxBufferedRecords?: Partial<Record<SinkKind, number>>;
  /** The gateway's /metrics view of its memory when its RSS was highest (polled every 0.5 s). */
  memoryAtPeak?: MemorySnapshot;
  /** Largest event-loop delay of the gateway during the run (prom-client, 10 ms resolution). */
  maxEventLoopLagMs?: number;
  /** Seconds the gateway spent in garbage collection during the run (nodejs_gc_duration_seconds). */
  gcSeconds?: number;
  outage?: {
    seconds: number;
    stoppedAfterSeconds: number;
    recoverySeconds: number;
    peakRssDuringOutageMB: number;
    /** The buffer defaults the gateway ran with (absent in results from before 2026-12-03: 50,000 / 32 MiB / 100,000). */
    defaults?: { maxRecords: number; maxBytes: number; subReceiveHighWaterMark: number };
    retries: number;
    dropped: number;
  };
  profile?: ProfileSummary;
  /** Runs it took (a run that failed with an error is retried). */
  attempts?: number;
  /** Errors of the failed attempts before the one reported. */
  earlierErrors?: string[];
  error?: string;
}

export interface TargetResult {
  name: string;
  scenario: string;
  target: string;
  value: string;
  pass: boolean | null;
}

export interface Results {
  schema: typeof RESULTS_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  smoke: boolean;
  machine: Machine;
  options: Record<string, unknown>;
  /** Gateway config files layered over the generated config (--gateway-config): not the defaults. */
  gatewayConfigOverlays: Array<{ file: string; config: unknown }>;
  /** Set when another build of the gateway than this checkout's ran (--gateway-dir). */
  gatewayDir?: string;
  scenarios: ScenarioResult[];
  targets: TargetResult[];
}

/** The sinks' recordsPerMessage of a result (NDJSON), whichever name its results file gave it. */
export const recordsPerMessageOf = (s: ScenarioResult): number | undefined => s.recordsPerMessage ?? s.amqpRecordsPerMessage;

/**
 * The AMQP sink's NDJSON runs: an alternative measured for a decision, no target. (The Kafka
 * sink's NDJSON runs are held to the cluster targets like the one-record-per-message runs.)
 */
const WITHOUT_TARGET = new Set(['ncsa-amqp-ndjson', 'ncsa-amqp-ndjson-latency']);

const fmt = (x: number | undefined, digits = 0): string => (x === undefined ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

/** A target on one figure of a run; `null` (not measured) when the run failed or lacks the figure. */
function figureTarget(s: ScenarioResult, name: string, target: string, figure: number | undefined, show: (x: number) => string, pass: (x: number) => boolean): TargetResult {
  const ok = figure !== undefined && !s.error;
  return { name, scenario: s.id, target, value: ok ? show(figure) : 'n/a', pass: ok ? pass(figure) : null };
}

/** The run's rate as a share of its ceiling: ≥ `share`. */
const ceilingShare = (s: ScenarioResult, name: string, share: number): TargetResult =>
  figureTarget(s, name, `≥ ${share * 100}%`, s.ratio, (r) => `${fmt(r * 100, 1)}% (${fmt(s.recordsPerSec)} of ${fmt(s.ceiling?.recordsPerSec)} rec/s)`, (r) => r >= share);

/** The run's rate: ≥ `min` records/s. */
const rateAtLeast = (s: ScenarioResult, name: string, min: number): TargetResult =>
  figureTarget(s, name, `≥ ${fmt(min)} rec/s`, s.recordsPerSec, (r) => `${fmt(r)} rec/s`, (r) => r >= min);

/** The issue's targets. Missing figures make a target `null` (not measured). */
export function evaluateTargets(scenarios: ScenarioResult[]): TargetResult[] {
  const by = new Map(scenarios.map((s) => [s.id, s]));
  const out: TargetResult[] = [];
  for (const id of ['ncsa-kafka', 'ncsa-platformatic', 'ncsa-amqp']) {
    const s = by.get(id);
    if (s) out.push(ceilingShare(s, `${s.title} ≥ 90% of the lower of its two ceilings`, 0.9));
  }
  // The NDJSON runs' titles name the mode ("NDJSON, 100 records per message"), and so do their targets.
  for (const id of ['cluster-kafka', 'cluster-platformatic', 'cluster-bigbatch-kafka', 'cluster-bigbatch-platformatic', 'cluster-kafka-ndjson', 'cluster-platformatic-ndjson']) {
    const s = by.get(id);
    if (s) out.push(rateAtLeast(s, `${s.title} ≥ 200,000 records/s`, 200_000));
  }
  for (const s of scenarios) {
    if (s.mode !== 'fixed' || WITHOUT_TARGET.has(s.id)) continue;
    out.push(figureTarget(s, `${s.title} (${fmt(s.targetRate)} rec/s): p99 ≤ 25 ms`, 'p99 ≤ 25 ms', s.latency?.p99Ms, (p) => `${fmt(p, 1)} ms`, (p) => p <= 25));
  }
  out.push(...issue13Targets(by));
  const o = by.get('outage-amqp');
  if (o) {
    const ok = o.peakRssMB !== undefined && !o.error;
    const lost = o.verification.reduce((n, v) => n + v.lost, 0);
    out.push({
      name: `peak RSS during a ${fmt(o.outage?.seconds)} s RabbitMQ outage at ${fmt(o.targetRate)} rec/s ≤ 200 MB, nothing lost`,
      scenario: o.id,
      target: '≤ 200 MB, 0 lost',
      value: ok ? `${fmt(o.peakRssMB, 1)} MB, ${fmt(lost)} lost` : 'n/a',
      pass: ok ? (o.peakRssMB as number) <= 200 && lost === 0 && o.verification.every((v) => v.ok) : null,
    });
  }
  return out;
}

/**
 * Issue 13's targets for the defaults (`client: "platformatic"`): NCSA → Kafka at ≥ 80% of the bare
 * client and ≤ 12 CPU-µs per record, cluster → Kafka ≥ 150,000 records/s with one record per message
 * and ≥ 300,000 in the throughput configuration, and a true peak RSS ≤ 100 MB at maximum rate.
 */
function issue13Targets(by: Map<string, ScenarioResult>): TargetResult[] {
  const out: TargetResult[] = [];
  const ncsa = by.get('ncsa-platformatic');
  if (ncsa) {
    out.push(ceilingShare(ncsa, `${ncsa.title} ≥ 80% of the bare client (issue 13)`, 0.8));
    out.push(figureTarget(ncsa, `${ncsa.title} ≤ 12 CPU-µs per record (issue 13)`, '≤ 12 µs', ncsa.cpuSecondsPerMillion, (c) => `${fmt(c, 1)} µs`, (c) => c <= 12));
  }
  for (const [id, min] of [['cluster-platformatic', 150_000], ['cluster-platformatic-ndjson', 300_000]] as const) {
    const s = by.get(id);
    if (s) out.push(rateAtLeast(s, `${s.title} ≥ ${fmt(min)} records/s (issue 13)`, min));
  }
  for (const id of ['ncsa-platformatic', 'cluster-platformatic']) {
    const s = by.get(id);
    if (s) out.push(figureTarget(s, `${s.title}: peak RSS (VmHWM) ≤ 100 MB at maximum rate (issue 13)`, '≤ 100 MB', s.peakRssMB, (m) => `${fmt(m, 1)} MB`, (m) => m <= 100));
  }
  return out;
}
