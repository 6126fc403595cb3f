import type { LogRecord, Address } from '../record.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { BufferedSink } from '../buffer/index.js';
import { EnvelopeBuilder } from './envelope.js';
import { FieldExtractor } from './extract-field.js';
import type { RoutingTable, UnroutedReason } from './table.js';

interface Delivery {
  readonly sink: BufferedSink;
  readonly envelope: EnvelopeBuilder;
  /** Shared by every record of the path, unless a key must be read per record. */
  readonly address: Address;
  readonly key: FieldExtractor | undefined;
}

interface RuntimePlan {
  readonly deliveries: readonly Delivery[];
  readonly counter: { inc(n?: number): void };
  readonly unrouted: UnroutedReason | undefined;
}

/** Beyond this many distinct paths, plans are computed per record instead of cached. */
const MAX_CACHED_PATHS = 4096;

/**
 * Hands each record to the sinks its path is routed to, with the envelope applied.
 * Knows nothing about brokers; sinks know nothing about routes.
 */
export class Router {
  private readonly plans = new Map<string, RuntimePlan>();
  private readonly blockingSinks: BufferedSink[];
  private readonly pathLabels = new LabelCap();

  constructor(
    private readonly table: RoutingTable,
    private readonly sinks: ReadonlyMap<string, BufferedSink>,
    private readonly metrics: Metrics,
  ) {
    this.blockingSinks = [...sinks.values()].filter((s) => s.blocking);
  }

  route(record: LogRecord): void {
    const plan = this.plans.get(record.path) ?? this.compile(record.path);
    plan.counter.inc();
    const deliveries = plan.deliveries;
    let tagged: Buffer | undefined;
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i] as Delivery;
      let payload: Buffer;
      if (d.envelope.envelope === 'raw') payload = record.json;
      else payload = tagged ??= d.envelope.build(record.json);
      const address = d.key ? { ...d.address, key: d.key.extract(record.json) ?? null } : d.address;
      d.sink.offer({ record, payload, address });
    }
  }

  /** True when a blocking sink is full: the ingress must wait before reading on. */
  mustWait(): boolean {
    for (const s of this.blockingSinks) if (s.isFull()) return true;
    return false;
  }

  /** Resolves when no blocking sink is full. */
  async whenWritable(): Promise<void> {
    for (;;) {
      const full = this.blockingSinks.find((s) => s.isFull());
      if (!full) return;
      await full.whenWritable();
    }
  }

  private compile(rawPath: string): RuntimePlan {
    const p = this.table.plan(rawPath);
    const label = this.pathLabels.value(p.path);
    const envelopes = new Map<string, EnvelopeBuilder>();
    const deliveries: Delivery[] = p.destinations.map((d) => {
      const sink = this.sinks.get(d.sink);
      if (!sink) throw new Error(`routing names unknown sink ${d.sink}`);
      let envelope = envelopes.get(d.envelope);
      if (!envelope) envelopes.set(d.envelope, (envelope = new EnvelopeBuilder(d.envelope, p.path)));
      return {
        sink,
        envelope,
        address: { target: d.target, routingKey: d.routingKey },
        key: d.keyField ? new FieldExtractor(d.keyField) : undefined,
      };
    });
    const counter = p.unrouted
      ? this.metrics.recordsUnrouted.labels(label, p.unrouted)
      : this.metrics.recordsRouted.labels(label);
    const plan = { deliveries, counter, unrouted: p.unrouted };
    if (this.plans.size < MAX_CACHED_PATHS) this.plans.set(rawPath, plan);
    return plan;
  }
}
