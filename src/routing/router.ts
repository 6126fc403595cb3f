import { HeldRecord, type LogRecord, type Address } from '../record.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { SinkInput } from './sink-input.js';
import { EnvelopeBuilder } from './envelope.js';
import { FieldExtractor } from './extract-field.js';
import type { RoutingTable, UnroutedReason } from './table.js';
import { BoundedCache } from '../util/bounded-cache.js';

interface Delivery {
  readonly sink: SinkInput;
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
  private readonly plans = new BoundedCache<RuntimePlan>(MAX_CACHED_PATHS);
  private readonly blockingSinks: SinkInput[];
  private readonly pathLabels = new LabelCap();

  constructor(
    private readonly table: RoutingTable,
    private readonly sinks: ReadonlyMap<string, SinkInput>,
    private readonly metrics: Metrics,
  ) {
    this.blockingSinks = [...sinks.values()].filter((s) => s.blocking);
  }

  route(record: LogRecord): void {
    const plan = this.plans.get(record.path) ?? this.compile(record.path);
    plan.counter.inc();
    const deliveries = plan.deliveries;
    let last: Delivery | undefined;
    let payload = record.json;
    let held: LogRecord = record;
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i] as Delivery;
      const memory = d.sink.memory;
      // Each sink holds its records in memory of its own, so that what it holds is all it
      // keeps alive (a cluster record is a view into a decoder slab shared by many records).
      if (last === undefined || d.sink !== last.sink || d.envelope !== last.envelope) {
        payload = d.envelope.build(record.json, memory);
        held = new HeldRecord(record, payload, d.envelope.jsonStart, d.envelope.jsonStart + record.json.length);
      }
      last = d;
      let address = d.address;
      if (d.key) {
        const key = d.key.extract(record.json);
        address = { ...address, key: key ? memory.copy(key) : null };
      }
      d.sink.offer({ record: held, payload, address });
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
      ? this.metrics.hotCounter('recordsUnrouted', label, p.unrouted)
      : this.metrics.hotCounter('recordsRouted', label);
    const plan = { deliveries, counter, unrouted: p.unrouted };
    return this.plans.keep(rawPath, plan);
  }
}
