// The shape of bench/results/peers-<date>-<host>.json: the gateway and the peers, one run each,
// on the same records, with every peer's figures as ratios to the gateway's on the same broker.
import type { Machine, GeneratorFigures, Verification } from '../lib/results.js';
import type { SinkKind } from '../lib/scenarios.js';
import type { FrameCounts } from './frame-tally.js';

export const PEERS_SCHEMA = 'zeek-log-gateway-bench-peers/1';

export type Tool = 'gateway' | 'redpanda-connect' | 'rsyslog';

export interface PeerScenario {
  id: string;
  tool: Tool;
  sink: SinkKind;
  title: string;
}

export interface PeerRunResult {
  id: string;
  /** Which round of the suite (1, 2, ...): every round runs every scenario once, in the same order. */
  round: number;
  tool: Tool;
  sink: SinkKind;
  title: string;
  /** Zeek records sent (NCSA messages: one record each). */
  records: number;
  jsonBytes: number;
  /** Broker messages the run must leave: one per record, or two (path and record frames) for rsyslog. */
  brokerMessages: number;
  seconds?: number;
  recordsPerSec?: number;
  mbPerSec?: number;
  /** CPU seconds of the process under test during the run (user + system, all threads, /proc or its own /metrics). */
  cpuSeconds?: number;
  cpuMicrosPerRecord?: number;
  /** CPU seconds per wall second of the run. */
  cores?: number;
  /** VmHWM from /proc/<pid>/status at the end of the run (each run is a fresh process). */
  peakRssMB?: number;
  generator?: GeneratorFigures;
  machineBusyPercent?: number;
  /** Records delivered to Kafka / RabbitMQ, matched byte for byte inside the tagged envelope. */
  verification?: Verification;
  /** rsyslog: the frames found in the topic. */
  frames?: FrameCounts;
  /** In the summary: records/s of each round's run of this scenario, in round order. */
  roundsRecordsPerSec?: number[];
  /** Against the gateway on the same broker in the same run: peer / gateway. */
  vsGateway?: { recordsPerSec?: number; cpuMicrosPerRecord?: number; peakRss?: number };
  attempts?: number;
  earlierErrors?: string[];
  error?: string;
}

/** The gateway's shipped settings the comparison rests on (the report's "differently" table). */
export interface GatewayDefaults {
  kafkaClient: string;
  kafkaIdempotent: boolean;
  kafkaMaxInFlight: number;
  amqpMaxInFlight: number;
  batchMaxRecords: number;
  batchMaxBytes: number;
}

export interface PeersResults {
  schema: typeof PEERS_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: Machine;
  /** Versions of the peers as they report them. */
  peers: Record<string, string>;
  gatewayDefaults: GatewayDefaults;
  options: Record<string, unknown>;
  /** Every run of every round, in the order they ran. */
  runs: PeerRunResult[];
  /** Per scenario, its best verified run (highest records/s), with the ratios to the gateway's best. */
  summary: PeerRunResult[];
}

/** ok: every record at the broker exactly once (and, for rsyslog, every frame). */
export function verified(r: PeerRunResult): boolean {
  if (r.error) return false;
  if (r.frames) return r.frames.ok;
  return r.verification?.ok ?? false;
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : Math.round((a / b) * 1000) / 1000;

/**
 * Per scenario (in first-run order), the verified run with the highest records/s, or its last
 * run when none was verified; with the rates of all its rounds. The machine is shared and its
 * load drifts: every tool gets the same treatment, so the best of each is compared.
 */
export function bestOfRounds(runs: PeerRunResult[]): PeerRunResult[] {
  const ids = [...new Set(runs.map((r) => r.id))];
  return ids.map((id) => {
    const all = runs.filter((r) => r.id === id);
    const good = all.filter(verified);
    const best = good.length > 0 ? good.reduce((a, b) => ((b.recordsPerSec ?? 0) > (a.recordsPerSec ?? 0) ? b : a)) : (all.at(-1) as PeerRunResult);
    return { ...best, roundsRecordsPerSec: all.map((r) => r.recordsPerSec ?? 0) };
  });
}

/** Sets every peer run's ratios to the gateway's run on the same broker (when both succeeded). */
export function applyRatios(runs: PeerRunResult[]): void {
  for (const r of runs) {
    if (r.tool === 'gateway' || !verified(r)) continue;
    const g = runs.find((x) => x.tool === 'gateway' && x.sink === r.sink && verified(x));
    if (!g) continue;
    r.vsGateway = {
      recordsPerSec: ratio(r.recordsPerSec, g.recordsPerSec),
      cpuMicrosPerRecord: ratio(r.cpuMicrosPerRecord, g.cpuMicrosPerRecord),
      peakRss: ratio(r.peakRssMB, g.peakRssMB),
    };
  }
}
