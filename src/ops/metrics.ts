import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One metric, declared as data: what Prometheus shows and what the README's metrics table lists. */
export interface MetricSpec {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  /** The HELP line of the exposition. */
  readonly help: string;
  readonly labelNames: readonly string[];
  /** README detail where the help text is not enough (label values and such); else help is used. */
  readonly doc?: string;
  /** Kept current at scrape time by hooks registered with Metrics.onScrape (cheap to read, hot to update). */
  readonly scraped?: boolean;
  readonly buckets?: readonly number[];
}

/**
 * Every metric the gateway exports. Names and labels are an interface (dashboards, alerts):
 * they do not change. Names follow Prometheus conventions: a `zeek_gateway_` prefix, `_total`
 * for counters, base units (seconds, bytes). scripts/gen-metrics-docs.ts writes the README table
 * from this list.
 */
export const METRICS = {
  ingressMessages: {
    type: 'counter',
    name: 'zeek_gateway_ingress_messages_total',
    help: 'ZeroMQ messages received, per ingress (a cluster batch counts once).',
    labelNames: ['ingress'],
    doc: 'ZeroMQ messages received (a cluster batch counts once)',
  },
  recordsReceived: {
    type: 'counter',
    name: 'zeek_gateway_records_received_total',
    help: 'Log records accepted by an ingress, per ingress, path and sender node (NCSA messages have sender "").',
    labelNames: ['ingress', 'path', 'sender'],
    doc: 'records accepted; sender is the cluster node (`worker-1@host`), empty for NCSA',
  },
  ingressRejected: {
    type: 'counter',
    name: 'zeek_gateway_ingress_rejected_total',
    help: 'Messages rejected at an ingress, per reason.',
    labelNames: ['ingress', 'reason'],
    doc: 'bad messages: `frame-count`, `empty-path`, `path-too-long`, `path-not-printable`, `too-large`, `body-not-object`, `body-not-utf8`, `body-invalid-json`, cluster decode errors (`truncated`, `bad-length`, `unknown-format`, …), `writer-filtered`',
  },
  schemaChanges: {
    type: 'counter',
    name: 'zeek_gateway_schema_changes_total',
    help: "Changes of a log path's schema (fields added, removed or retyped) in a sender's cluster batches, per path.",
    labelNames: ['path'],
    doc: 'a path\'s fields or Zeek types changed in a cluster node\'s batches; a warning lists the added, removed and retyped fields (at most one per path and node every 10 s); `GET /schemas` shows them',
  },
  recordsRouted: {
    type: 'counter',
    name: 'zeek_gateway_records_routed_total',
    help: 'Records that matched at least one destination, per path.',
    labelNames: ['path'],
    doc: 'records with at least one destination',
  },
  recordsUnrouted: {
    type: 'counter',
    name: 'zeek_gateway_records_unrouted_total',
    help: 'Records not sent anywhere, per path and reason (excluded, not-included, no-route).',
    labelNames: ['path', 'reason'],
    doc: '`excluded`, `not-included`, `no-route`',
  },
  sinkPublished: {
    type: 'counter',
    name: 'zeek_gateway_sink_published_total',
    help: 'Records handed to the broker (retries counted again), per sink and path.',
    labelNames: ['sink', 'path'],
    doc: 'records handed to the broker (retries count again)',
  },
  sinkAcked: {
    type: 'counter',
    name: 'zeek_gateway_sink_acknowledged_total',
    help: 'Records the broker acknowledged (publisher confirm, Kafka ack), per sink and path.',
    labelNames: ['sink', 'path'],
    doc: 'records the broker confirmed',
  },
  sinkRetries: {
    type: 'counter',
    name: 'zeek_gateway_sink_retries_total',
    help: 'Failed batch sends that will be retried, per sink.',
    labelNames: ['sink'],
    doc: 'failed batch sends that will be retried',
  },
  sinkDropped: {
    type: 'counter',
    name: 'zeek_gateway_sink_dropped_total',
    help: 'Records a sink gave up on, per sink and reason (buffer-full, unroutable, too-large, shutdown, ...).',
    labelNames: ['sink', 'reason'],
    doc: '`buffer-full`, `unroutable`, `no_exchange`, `access_refused`, `message_too_large`, `unknown_topic`, `invalid_address` (a rendered exchange, routing key or topic the broker cannot take), `shutdown`, …',
  },
  deadLetters: {
    type: 'counter',
    name: 'zeek_gateway_dead_letters_total',
    help: 'Dead letters sent, per source (sink, ingress) and reason; reason dead-letter-refused counts dead letters lost because the dead-letter sink refused them.',
    labelNames: ['source', 'reason'],
    doc: 'dead letters sent (source `sink` or `ingress`)',
  },
  sinkBufferRecords: {
    type: 'gauge',
    name: 'zeek_gateway_sink_buffer_records',
    help: 'Records held by a sink (waiting plus in flight, not yet acknowledged).',
    labelNames: ['sink'],
    doc: 'records held by the sink: waiting plus awaiting acknowledgement',
    scraped: true,
  },
  sinkBufferBytes: {
    type: 'gauge',
    name: 'zeek_gateway_sink_buffer_bytes',
    help: 'Payload bytes held by a sink (waiting plus in flight).',
    labelNames: ['sink'],
    doc: 'payload bytes held by the sink: waiting plus awaiting acknowledgement',
    scraped: true,
  },
  sinkBufferMaxRecords: {
    type: 'gauge',
    name: 'zeek_gateway_sink_buffer_max_records',
    help: "High-water mark of a sink's memory buffer in records (buffer.maxRecords); absent for a spooled sink.",
    labelNames: ['sink'],
    doc: 'the memory buffer\'s high-water mark in records (`buffer.maxRecords`); absent for a spooled sink',
  },
  sinkBufferMaxBytes: {
    type: 'gauge',
    name: 'zeek_gateway_sink_buffer_max_bytes',
    help: "High-water mark of a sink's memory buffer in payload bytes (buffer.maxBytes); absent for a spooled sink.",
    labelNames: ['sink'],
    doc: 'the memory buffer\'s high-water mark in payload bytes (`buffer.maxBytes`); absent for a spooled sink',
  },
  spoolMaxBytes: {
    type: 'gauge',
    name: 'zeek_gateway_sink_spool_max_bytes',
    help: "Size limit of a sink's disk spool (buffer.spool.maxBytes).",
    labelNames: ['sink'],
    doc: 'the disk spool\'s size limit (`buffer.spool.maxBytes`)',
  },
  spoolDiskBytes: {
    type: 'gauge',
    name: 'zeek_gateway_sink_spool_bytes',
    help: 'Bytes of spool files on disk, per sink with a disk spool.',
    labelNames: ['sink'],
    doc: 'spool files on disk',
    scraped: true,
  },
  spoolLost: {
    type: 'counter',
    name: 'zeek_gateway_sink_spool_lost_records_total',
    help: 'Records lost to damaged spool files (checksum errors, torn tails), per sink.',
    labelNames: ['sink'],
    doc: 'records lost to damaged spool files (torn tails included)',
  },
  spoolWriteErrors: {
    type: 'counter',
    name: 'zeek_gateway_sink_spool_write_errors_total',
    help: 'Failed writes to a sink’s spool, per error code (ENOSPC: the disk is full). The records are held in memory, the sink counts as full, and the write is retried every second.',
    labelNames: ['sink', 'code'],
    doc: 'failed spool writes by error code (`ENOSPC`: disk full); the write is retried every second',
  },
  sinkConnected: {
    type: 'gauge',
    name: 'zeek_gateway_sink_connected',
    help: '1 while the sink is connected to its broker, else 0.',
    labelNames: ['sink'],
    doc: '1 while connected',
  },
  deliveryLatency: {
    type: 'histogram',
    name: 'zeek_gateway_delivery_latency_seconds',
    help: 'Time from ingress receipt to broker acknowledgement, per sink.',
    labelNames: ['sink'],
    doc: 'histogram, ingress receipt to broker acknowledgement',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  zmqEvents: {
    type: 'counter',
    name: 'zeek_gateway_zmq_events_total',
    help: 'ZeroMQ socket events per ingress (accepted, disconnected, handshake-succeeded, handshake-failed-auth, ...).',
    labelNames: ['ingress', 'event'],
    doc: '`accept`, `disconnect`, `handshake`, `handshake:error:auth`, `handshake:error:protocol`, …',
  },
  curveAuth: {
    type: 'counter',
    name: 'zeek_gateway_curve_auth_total',
    help: 'CURVE client authentication decisions by the ZAP handler, per ingress and result.',
    labelNames: ['ingress', 'result'],
    doc: 'ZAP decisions: `allowed`, `unknown-key`, …',
  },
  configReloads: {
    type: 'counter',
    name: 'zeek_gateway_config_reloads_total',
    help: 'Configuration reloads (SIGHUP, POST /-/reload), per result: success, or failure (the previous configuration stays in force).',
    labelNames: ['result'],
    doc: '`success`, or `failure` (the previous configuration stays in force); both exported from the start',
  },
} as const satisfies Record<string, MetricSpec>;

type Declared = typeof METRICS;
type LabelsOf<S extends MetricSpec> = S['labelNames'][number];
type InstanceOf<S extends MetricSpec> = S['type'] extends 'counter'
  ? Counter<LabelsOf<S>>
  : S['type'] extends 'gauge'
    ? Gauge<LabelsOf<S>>
    : Histogram<LabelsOf<S>>;

/** The metric objects, one property per declaration: `metrics.sinkDropped.labels(sink, reason).inc()`. */
export type MetricObjects = { readonly [K in keyof Declared]: InstanceOf<Declared[K]> };

/**
 * Every metric of METRICS in one registry per gateway instance (tests run several gateways
 * in one process). Components update theirs through the properties named as in METRICS.
 */
export interface Metrics extends MetricObjects {}
export class Metrics {
  readonly registry = new Registry();
  /** Gauges that are cheap to read but hot to update are set at scrape time by these hooks. */
  private readonly scrapeHooks: Array<() => void> = [];
  private readonly runScrapeHooks = (): void => {
    for (const hook of this.scrapeHooks) hook();
  };
  /**
   * Hot-path series (see hotCounter, hotHistogram), one per metric and label values: callers
   * that cache theirs in bounded caches may ask again, and the label values are capped.
   */
  private readonly hot = new Map<string, HotCounter | HotHistogram>();
  private readonly flushHot = (): void => {
    for (const h of this.hot.values()) h.flush();
  };

  constructor(opts: { processMetrics?: boolean } = {}) {
    for (const [key, spec] of Object.entries(METRICS) as Array<[keyof Declared, MetricSpec]>) {
      Object.defineProperty(this, key, { value: this.create(spec), enumerable: true });
    }
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'zeek_gateway_' });
    // Both results are exported from the start, so a failure shows as an increase from 0.
    this.configReloads.labels('success');
    this.configReloads.labels('failure');
  }

  /** Registers a function that refreshes scrape-time gauges. */
  onScrape(hook: () => void): () => void {
    this.scrapeHooks.push(hook);
    return () => {
      const i = this.scrapeHooks.indexOf(hook);
      if (i >= 0) this.scrapeHooks.splice(i, 1);
    };
  }

  /**
   * A counter series for code that counts per record: increments add to a plain number, handed
   * to prom-client whenever a counter or histogram is read (a scrape). prom-client's own inc()
   * hashes the labels on every call, which cost about a microsecond per record at full rate.
   */
  hotCounter<K extends CounterKey>(metric: K, ...labels: string[]): HotCounter {
    const key = [metric, ...labels].join('\u0000');
    let c = this.hot.get(key);
    if (c === undefined) this.hot.set(key, (c = new HotCounter((this[metric] as Counter<string>).labels(...labels))));
    return c as HotCounter;
  }

  /** A histogram series for code that observes per record, accumulated like hotCounter's counts. */
  hotHistogram<K extends HistogramKey>(metric: K, ...labels: string[]): HotHistogram {
    const key = [metric, ...labels].join('\u0000');
    let h = this.hot.get(key);
    if (h === undefined) {
      const spec = METRICS[metric] as MetricSpec;
      h = new HotHistogram(this[metric] as Histogram<string>, Object.fromEntries(spec.labelNames.map((n, i) => [n, labels[i] ?? ''])));
      this.hot.set(key, h);
    }
    return h as HotHistogram;
  }

  private create(spec: MetricSpec): Counter | Gauge | Histogram {
    const common = { name: spec.name, help: spec.help, labelNames: spec.labelNames, registers: [this.registry] };
    if (spec.type === 'counter') return new Counter({ ...common, collect: this.flushHot });
    if (spec.type === 'gauge') return new Gauge(spec.scraped ? { ...common, collect: this.runScrapeHooks } : common);
    const buckets = spec.buckets ? { buckets: [...spec.buckets] } : {};
    return new Histogram({ ...common, ...buckets, collect: this.flushHot });
  }
}

type CounterKey = { [K in keyof Declared]: Declared[K]['type'] extends 'counter' ? K : never }[keyof Declared];
type HistogramKey = { [K in keyof Declared]: Declared[K]['type'] extends 'histogram' ? K : never }[keyof Declared];

/** A counter series counted in a plain number until the next read (Metrics.hotCounter). */
export class HotCounter {
  private pending = 0;
  private touched = false;

  constructor(private readonly series: { inc(n: number): void }) {}

  inc(n = 1): void {
    this.pending += n;
    this.touched = true;
  }

  flush(): void {
    if (!this.touched) return;
    this.series.inc(this.pending);
    this.pending = 0;
    this.touched = false;
  }
}

/** What HotHistogram adds to: prom-client's per-series state (lib/histogram.js, checked by metrics.test.ts). */
interface HistogramState {
  readonly upperBounds: readonly number[];
  readonly hashMap: Record<string, { labels: Record<string, string>; bucketValues: Record<number, number>; sum: number; count: number }>;
}

/**
 * A histogram series observed in bucket counts of its own until the next read
 * (Metrics.hotHistogram): prom-client's observe() builds a label hash, an object and a closure
 * per call. The flush adds the counts to prom-client's series, which exposes them as before.
 */
export class HotHistogram {
  private readonly bounds: readonly number[];
  /** Observations per bucket (value ≤ bound); the last slot: above every bound (+Inf only). */
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly histogram: Histogram<string>,
    private readonly labels: Record<string, string>,
  ) {
    this.bounds = (histogram as unknown as HistogramState).upperBounds;
    this.counts = new Float64Array(this.bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }

  flush(): void {
    if (this.count === 0) return;
    const state = this.series();
    for (let i = 0; i < this.bounds.length; i++) state.bucketValues[this.bounds[i] as number] += this.counts[i] as number;
    state.sum += this.sum;
    state.count += this.count;
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** prom-client's state of this series, created (zeroed) by its public zero() the first time. */
  private series(): HistogramState['hashMap'][string] {
    const find = (): HistogramState['hashMap'][string] | undefined =>
      Object.values((this.histogram as unknown as HistogramState).hashMap).find((v) => Object.entries(this.labels).every(([k, x]) => v.labels[k] === x));
    let state = find();
    if (state === undefined) {
      this.histogram.zero(this.labels);
      state = find();
    }
    if (state === undefined) throw new Error(`prom-client histogram: no series for ${JSON.stringify(this.labels)}`);
    return state;
  }
}

/** Distinct values a label from the network (log path, sender node) may take; more show as `_other`. */
export const NETWORK_LABEL_VALUES = 256;

/**
 * Caps the distinct values a label may take. Paths and sender ids come from the
 * network; without a cap, hostile or buggy senders could grow the series without bound.
 */
export class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max = NETWORK_LABEL_VALUES, private readonly overflow = '_other') {}

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return this.overflow;
    this.seen.add(v);
    return v;
  }
}

/**
 * A stable label for a Zeek cluster node id. Zeek's ids look like
 * `zeromq_<node>_<host>_<pid>_<unique>`; pid and unique part change on every restart,
 * so they are cut to keep the series stable. Anything else is kept as is.
 */
export function senderLabel(sender: string | undefined): string {
  if (!sender) return '';
  const m = /^zeromq_(.+)_([^_]*)_\d+_[^_]+$/.exec(sender);
  return m ? `${m[1]}@${m[2]}` : sender;
}
