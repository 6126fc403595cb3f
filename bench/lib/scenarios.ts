// The benchmark's scenarios and the options that size them.
import type { KafkaClient } from '../../src/sinks/kafka/options.js';

export type SinkKind = 'kafka' | 'amqp';
export type { KafkaClient };

export type Scenario =
  /** Load generator → bare zeromq.js SUB/PULL loop: the generator's own rate and the ingress ceiling. */
  | { id: string; kind: 'ingress'; dataset: string; title: string }
  /** Bare kafkajs or @platformatic/kafka producer → Kafka: the Kafka ceiling of that client. */
  | { id: string; kind: 'kafka-ceiling'; dataset: string; title: string; kafkaClient: KafkaClient }
  /** Bare amqplib confirm-channel publisher → RabbitMQ: the AMQP ceiling. */
  | { id: string; kind: 'amqp-ceiling'; dataset: string; title: string }
  /**
   * Generator → gateway process → broker(s), at maximum rate (`max`) or at a fixed rate (`fixed`);
   * `kafkaClient`: the Kafka sink's `client` (default kafkajs: the scenarios without a client in their
   * id measure kafkajs; the gateway's own default is platformatic);
   * `recordsPerMessage`: every sink's `recordsPerMessage` (Kafka and AMQP: NDJSON above 1; default
   * one record per message); `maxInFlight`: every sink's `buffer.maxInFlight` (default: the sink
   * kind's own, 1 for Kafka).
   */
  | {
      id: string;
      kind: 'gateway';
      dataset: string;
      title: string;
      sinks: SinkKind[];
      mode: 'max' | 'fixed';
      ceilings: string[];
      kafkaClient?: KafkaClient;
      recordsPerMessage?: number;
      maxInFlight?: number;
    }
  /** Fixed rate through the gateway to RabbitMQ while RabbitMQ is stopped for a while. */
  | { id: string; kind: 'outage'; dataset: string; title: string; sinks: SinkKind[] };

export type GatewayScenario = Extract<Scenario, { kind: 'gateway' }>;

/** Records per broker message in the NDJSON scenarios (the sinks' recordsPerMessage). */
const NDJSON_RECORDS = 100;
const NDJSON = `NDJSON, ${NDJSON_RECORDS} records per message`;
/**
 * Kafka batches in flight in the maximum-rate Kafka NDJSON runs. A sink batch of 1,000 records is
 * only ~10 NDJSON messages, so one batch at a time waits a broker round trip per ~10 messages
 * (94,000 records/s in one run; 4 in flight: 154-185k; 8: 160-200k). The README's throughput
 * configuration; it gives up strict order across a failed batch's retry.
 */
const NDJSON_KAFKA_IN_FLIGHT = 8;
const NDJSON_KAFKA = `${NDJSON}, ${NDJSON_KAFKA_IN_FLIGHT} batches in flight`;

export const SCENARIOS: Scenario[] = [
  { id: 'ingress-ncsa', kind: 'ingress', dataset: 'ncsa', title: 'generator → bare SUB (NCSA)' },
  { id: 'ingress-cluster', kind: 'ingress', dataset: 'cluster', title: 'generator → bare PULL (cluster load-a)' },
  { id: 'ingress-cluster-bigbatch', kind: 'ingress', dataset: 'cluster-bigbatch', title: 'generator → bare PULL (cluster bigbatch)' },
  { id: 'ceiling-kafka', kind: 'kafka-ceiling', kafkaClient: 'kafkajs', dataset: 'ncsa', title: 'bare kafkajs producer → Kafka' },
  { id: 'ceiling-platformatic', kind: 'kafka-ceiling', kafkaClient: 'platformatic', dataset: 'ncsa', title: 'bare @platformatic/kafka producer → Kafka' },
  { id: 'ceiling-amqp', kind: 'amqp-ceiling', dataset: 'ncsa', title: 'bare amqplib confirm publisher → RabbitMQ' },
  { id: 'ncsa-kafka', kind: 'gateway', dataset: 'ncsa', title: 'NCSA SUB → Kafka (kafkajs)', sinks: ['kafka'], mode: 'max', ceilings: ['ingress-ncsa', 'ceiling-kafka'] },
  {
    id: 'ncsa-platformatic',
    kind: 'gateway',
    dataset: 'ncsa',
    title: 'NCSA SUB → Kafka (platformatic)',
    sinks: ['kafka'],
    mode: 'max',
    ceilings: ['ingress-ncsa', 'ceiling-platformatic'],
    kafkaClient: 'platformatic',
  },
  { id: 'ncsa-amqp', kind: 'gateway', dataset: 'ncsa', title: 'NCSA SUB → RabbitMQ', sinks: ['amqp'], mode: 'max', ceilings: ['ingress-ncsa', 'ceiling-amqp'] },
  {
    // An alternative measured for a decision, not a target: its ceiling publishes one record per
    // message, so its ratio may exceed 100% — what batching buys.
    id: 'ncsa-amqp-ndjson',
    kind: 'gateway',
    dataset: 'ncsa',
    title: `NCSA SUB → RabbitMQ (${NDJSON})`,
    sinks: ['amqp'],
    mode: 'max',
    ceilings: ['ingress-ncsa', 'ceiling-amqp'],
    recordsPerMessage: NDJSON_RECORDS,
  },
  {
    id: 'ncsa-both',
    kind: 'gateway',
    dataset: 'ncsa',
    title: 'NCSA SUB → Kafka (kafkajs) + RabbitMQ',
    sinks: ['kafka', 'amqp'],
    mode: 'max',
    ceilings: ['ingress-ncsa', 'ceiling-kafka', 'ceiling-amqp'],
  },
  {
    id: 'cluster-kafka',
    kind: 'gateway',
    dataset: 'cluster',
    title: 'cluster PULL (load-a) → Kafka (kafkajs)',
    sinks: ['kafka'],
    mode: 'max',
    ceilings: ['ingress-cluster', 'ceiling-kafka'],
  },
  {
    id: 'cluster-platformatic',
    kind: 'gateway',
    dataset: 'cluster',
    title: 'cluster PULL (load-a) → Kafka (platformatic)',
    sinks: ['kafka'],
    mode: 'max',
    ceilings: ['ingress-cluster', 'ceiling-platformatic'],
    kafkaClient: 'platformatic',
  },
  {
    // The Kafka sink's opt-in NDJSON mode, held to the cluster target like the runs above. Its
    // ceilings send one record per message, so its ratio may exceed 100%.
    id: 'cluster-kafka-ndjson',
    kind: 'gateway',
    dataset: 'cluster',
    title: `cluster PULL (load-a) → Kafka (kafkajs, ${NDJSON_KAFKA})`,
    sinks: ['kafka'],
    mode: 'max',
    maxInFlight: NDJSON_KAFKA_IN_FLIGHT,
    ceilings: ['ingress-cluster', 'ceiling-kafka'],
    recordsPerMessage: NDJSON_RECORDS,
  },
  {
    id: 'cluster-platformatic-ndjson',
    kind: 'gateway',
    dataset: 'cluster',
    title: `cluster PULL (load-a) → Kafka (platformatic, ${NDJSON_KAFKA})`,
    sinks: ['kafka'],
    mode: 'max',
    maxInFlight: NDJSON_KAFKA_IN_FLIGHT,
    ceilings: ['ingress-cluster', 'ceiling-platformatic'],
    kafkaClient: 'platformatic',
    recordsPerMessage: NDJSON_RECORDS,
  },
  {
    id: 'cluster-bigbatch-kafka',
    kind: 'gateway',
    dataset: 'cluster-bigbatch',
    title: 'cluster PULL (bigbatch) → Kafka (kafkajs)',
    sinks: ['kafka'],
    mode: 'max',
    ceilings: ['ingress-cluster-bigbatch', 'ceiling-kafka'],
  },
  {
    id: 'cluster-bigbatch-platformatic',
    kind: 'gateway',
    dataset: 'cluster-bigbatch',
    title: 'cluster PULL (bigbatch) → Kafka (platformatic)',
    sinks: ['kafka'],
    mode: 'max',
    ceilings: ['ingress-cluster-bigbatch', 'ceiling-platformatic'],
    kafkaClient: 'platformatic',
  },
  { id: 'ncsa-kafka-latency', kind: 'gateway', dataset: 'ncsa', title: 'NCSA SUB → Kafka (kafkajs), fixed rate', sinks: ['kafka'], mode: 'fixed', ceilings: [] },
  {
    id: 'ncsa-platformatic-latency',
    kind: 'gateway',
    dataset: 'ncsa',
    title: 'NCSA SUB → Kafka (platformatic), fixed rate',
    sinks: ['kafka'],
    mode: 'fixed',
    ceilings: [],
    kafkaClient: 'platformatic',
  },
  { id: 'ncsa-amqp-latency', kind: 'gateway', dataset: 'ncsa', title: 'NCSA SUB → RabbitMQ, fixed rate', sinks: ['amqp'], mode: 'fixed', ceilings: [] },
  {
    id: 'ncsa-amqp-ndjson-latency',
    kind: 'gateway',
    dataset: 'ncsa',
    title: `NCSA SUB → RabbitMQ (${NDJSON}), fixed rate`,
    sinks: ['amqp'],
    mode: 'fixed',
    ceilings: [],
    recordsPerMessage: NDJSON_RECORDS,
  },
  { id: 'ncsa-both-latency', kind: 'gateway', dataset: 'ncsa', title: 'NCSA SUB → Kafka (kafkajs) + RabbitMQ, fixed rate', sinks: ['kafka', 'amqp'], mode: 'fixed', ceilings: [] },
  {
    id: 'cluster-kafka-latency',
    kind: 'gateway',
    dataset: 'cluster',
    title: 'cluster PULL (load-a) → Kafka (kafkajs), fixed rate',
    sinks: ['kafka'],
    mode: 'fixed',
    ceilings: [],
  },
  {
    id: 'cluster-platformatic-latency',
    kind: 'gateway',
    dataset: 'cluster',
    title: 'cluster PULL (load-a) → Kafka (platformatic), fixed rate',
    sinks: ['kafka'],
    mode: 'fixed',
    ceilings: [],
    kafkaClient: 'platformatic',
  },
  {
    id: 'cluster-platformatic-ndjson-latency',
    kind: 'gateway',
    dataset: 'cluster',
    title: `cluster PULL (load-a) → Kafka (platformatic, ${NDJSON}), fixed rate`,
    sinks: ['kafka'],
    mode: 'fixed',
    ceilings: [],
    kafkaClient: 'platformatic',
    recordsPerMessage: NDJSON_RECORDS,
  },
  { id: 'outage-amqp', kind: 'outage', dataset: 'ncsa', title: 'NCSA SUB → RabbitMQ, RabbitMQ stopped', sinks: ['amqp'] },
];

/**
 * The smoke run: one scenario of each kind, tiny. Every Kafka ceiling, since each client is a
 * script of its own; an NDJSON run of each broker,
 * since they end and are verified differently (messages are not records).
 */
export const SMOKE_SCENARIOS = [
  'ingress-ncsa',
  'ceiling-kafka',
  'ceiling-platformatic',
  'ceiling-amqp',
  'ncsa-both',
  'ncsa-amqp-ndjson',
  'cluster-platformatic-ndjson',
  'cluster-kafka-latency',
  'outage-amqp',
];

export interface SuiteOptions {
  smoke: boolean;
  /** Scenario ids or globs (`ncsa-*`); empty: all (or the smoke set). */
  select: string[];
  /** Also run the ceilings the selected gateway scenarios are compared with. */
  withCeilings: boolean;
  out: string;
  ncsaRecords: number;
  clusterRecords: number;
  latencyRate: number;
  latencySeconds: number;
  warmupSeconds: number;
  outageRate: number;
  outageSeconds: number;
  outageBeforeSeconds: number;
  outageAfterSeconds: number;
  /** Re-run gateway scenarios under `node --cpu-prof`: those that missed a target, all, none, or these ids. */
  profile: 'auto' | 'all' | 'none' | string[];
  kafkaInFlight: number;
  amqpWindow: number;
  brokersUp: boolean;
  /** Seconds without progress before a run is declared stuck. */
  stallSeconds: number;
  /** Re-runs of a scenario that failed with an error (the brokers are shared and may go away). */
  retries: number;
  /** Run the ceilings again after the maximum-rate gateway runs; ratios use the better run. */
  repeatCeilings: boolean;
  /** Extra gateway config files layered over the generated one (experiments). */
  gatewayConfigs: string[];
  /** Run DIR/dist/cli.js instead of this checkout's gateway (experiments). */
  gatewayDir?: string;
}

export const DEFAULTS: SuiteOptions = {
  smoke: false,
  select: [],
  withCeilings: true,
  out: 'bench/results',
  ncsaRecords: 200_000,
  // Cluster runs at 100,000-200,000 records/s: 500,000 records lasted 2.5-5 s, of which the
  // gateway's start (JIT warm-up, first connections) was a tenth; 2,000,000 measure the steady state.
  clusterRecords: 2_000_000,
  latencyRate: 5000,
  latencySeconds: 30,
  warmupSeconds: 5,
  outageRate: 5000,
  outageSeconds: 60,
  outageBeforeSeconds: 5,
  outageAfterSeconds: 15,
  profile: 'auto',
  kafkaInFlight: 4,
  amqpWindow: 20_000,
  brokersUp: true,
  stallSeconds: 60,
  retries: 3,
  gatewayConfigs: [],
  repeatCeilings: true,
};

export const SMOKE: Partial<SuiteOptions> = {
  ncsaRecords: 3000,
  clusterRecords: 5000,
  latencyRate: 1000,
  latencySeconds: 2,
  warmupSeconds: 0.5,
  outageRate: 1000,
  outageSeconds: 3,
  outageBeforeSeconds: 1,
  outageAfterSeconds: 1,
  profile: 'none',
  stallSeconds: 30,
  repeatCeilings: false,
};

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** The scenarios to run, in suite order (ceilings first, since the ratios need them). */
export function selectScenarios(o: SuiteOptions): Scenario[] {
  const wanted = o.select.length > 0 ? o.select : o.smoke ? SMOKE_SCENARIOS : ['*'];
  const res = wanted.map(globToRegExp);
  const chosen = new Set(SCENARIOS.filter((s) => res.some((r) => r.test(s.id))).map((s) => s.id));
  for (const w of wanted) {
    if (!SCENARIOS.some((s) => globToRegExp(w).test(s.id))) {
      throw new Error(`no scenario matches ${w} (scenarios: ${SCENARIOS.map((s) => s.id).join(', ')})`);
    }
  }
  if (o.withCeilings && !o.smoke) {
    for (const s of SCENARIOS) if (chosen.has(s.id) && s.kind === 'gateway') for (const c of s.ceilings) chosen.add(c);
  }
  return SCENARIOS.filter((s) => chosen.has(s.id));
}
