import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the gateway exports, in one registry per gateway instance (tests run
 * several gateways in one process). Names follow Prometheus conventions: a
 * `zeek_gateway_` prefix, `_total` for counters, base units (seconds, bytes).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly ingressMessages = new Counter({
    name: 'zeek_gateway_ingress_messages_total',
    help: 'ZeroMQ messages received, per ingress (a cluster batch counts once).',
    labelNames: ['ingress'] as const,
    registers: [this.registry],
  });
  readonly recordsReceived = new Counter({
    name: 'zeek_gateway_records_received_total',
    help: 'Log records accepted by an ingress, per ingress, path and sender node (NCSA messages have sender "").',
    labelNames: ['ingress', 'path', 'sender'] as const,
    registers: [this.registry],
  });
  readonly ingressRejected = new Counter({
    name: 'zeek_gateway_ingress_rejected_total',
    help: 'Messages rejected at an ingress, per reason.',
    labelNames: ['ingress', 'reason'] as const,
    registers: [this.registry],
  });
  readonly recordsRouted = new Counter({
    name: 'zeek_gateway_records_routed_total',
    help: 'Records that matched at least one destination, per path.',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly recordsUnrouted = new Counter({
    name: 'zeek_gateway_records_unrouted_total',
    help: 'Records not sent anywhere, per path and reason (excluded, not-included, no-route).',
    labelNames: ['path', 'reason'] as const,
    registers: [this.registry],
  });
  readonly sinkPublished = new Counter({
    name: 'zeek_gateway_sink_published_total',
    help: 'Records handed to the broker (retries counted again), per sink and path.',
    labelNames: ['sink', 'path'] as const,
    registers: [this.registry],
  });
  readonly sinkAcked = new Counter({
    name: 'zeek_gateway_sink_acknowledged_total',
    help: 'Records the broker acknowledged (publisher confirm, Kafka ack), per sink and path.',
    labelNames: ['sink', 'path'] as const,
    registers: [this.registry],
  });
  readonly sinkRetries = new Counter({
    name: 'zeek_gateway_sink_retries_total',
    help: 'Failed batch sends that will be retried, per sink.',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly sinkDropped = new Counter({
    name: 'zeek_gateway_sink_dropped_total',
    help: 'Records a sink gave up on, per sink and reason (buffer-full, unroutable, too-large, shutdown, ...).',
    labelNames: ['sink', 'reason'] as const,
    registers: [this.registry],
  });
  /** Gauges that are cheap to read but hot to update are set at scrape time by these hooks. */
  private readonly scrapeHooks: Array<() => void> = [];
  private readonly runScrapeHooks = (): void => {
    for (const hook of this.scrapeHooks) hook();
  };

  readonly deadLetters = new Counter({
    name: 'zeek_gateway_dead_letters_total',
    help: 'Dead letters sent, per source (sink, ingress) and reason; reason dead-letter-refused counts dead letters lost because the dead-letter sink refused them.',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly sinkBufferRecords = new Gauge({
    name: 'zeek_gateway_sink_buffer_records',
    help: 'Records held by a sink (waiting plus in flight, not yet acknowledged).',
    labelNames: ['sink'] as const,
    registers: [this.registry],
    collect: this.runScrapeHooks,
  });
  readonly sinkBufferBytes = new Gauge({
    name: 'zeek_gateway_sink_buffer_bytes',
    help: 'Payload bytes held by a sink (waiting plus in flight).',
    labelNames: ['sink'] as const,
    registers: [this.registry],
    collect: this.runScrapeHooks,
  });
  readonly spoolDiskBytes = new Gauge({
    name: 'zeek_gateway_sink_spool_bytes',
    help: 'Bytes of spool files on disk, per sink with a disk spool.',
    labelNames: ['sink'] as const,
    registers: [this.registry],
    collect: this.runScrapeHooks,
  });
  readonly spoolLost = new Counter({
    name: 'zeek_gateway_sink_spool_lost_records_total',
    help: 'Records lost to damaged spool files (checksum errors, torn tails), per sink.',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly spoolWriteErrors = new Counter({
    name: 'zeek_gateway_sink_spool_write_errors_total',
    help: 'Failed writes to a sink’s spool, per error code (ENOSPC: the disk is full). The records are held in memory, the sink counts as full, and the write is retried every second.',
    labelNames: ['sink', 'code'] as const,
    registers: [this.registry],
  });
  readonly sinkConnected = new Gauge({
    name: 'zeek_gateway_sink_connected',
    help: '1 while the sink is connected to its broker, else 0.',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'zeek_gateway_delivery_latency_seconds',
    help: 'Time from ingress receipt to broker acknowledgement, per sink.',
    labelNames: ['sink'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly zmqEvents = new Counter({
    name: 'zeek_gateway_zmq_events_total',
    help: 'ZeroMQ socket events per ingress (accepted, disconnected, handshake-succeeded, handshake-failed-auth, ...).',
    labelNames: ['ingress', 'event'] as const,
    registers: [this.registry],
  });
  readonly curveAuth = new Counter({
    name: 'zeek_gateway_curve_auth_total',
    help: 'CURVE client authentication decisions by the ZAP handler, per ingress and result.',
    labelNames: ['ingress', 'result'] as const,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'zeek_gateway_' });
  }

  /** Registers a function that refreshes scrape-time gauges. */
  onScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }
}

/**
 * Caps the distinct values a label may take. Paths and sender ids come from the
 * network; without a cap, hostile or buggy senders could grow the series without bound.
 */
export class LabelCap {
  private readonly seen = new Set<string>();
  constructor(private readonly max = 256, private readonly overflow = '_other') {}

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
