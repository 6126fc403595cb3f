import { HeldRecord, type LogRecord, type Address } from '../record.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { SinkInput } from './sink-input.js';
import { EnvelopeBuilder, type RecordMeta } from './envelope.js';
import { KeyRewriter, rewritesNothing } from './rewrite-keys.js';
import type { OutputOptions } from './config.js';
import { FieldExtractor } from './extract-field.js';
import type { RoutingTable, UnroutedReason } from './table.js';
import { BoundedCache } from '../util/bounded-cache.js';

/** One distinct output format of a path: its payload is built once per record. */
interface Variant {
  readonly envelope: EnvelopeBuilder;
  /** Renames keys / converts time fields; undefined when the format keeps the record as is. */
  readonly rewriter: KeyRewriter | undefined;
}

interface Delivery {
  readonly sink: SinkInput;
  /** Index into the plan's variants. */
  readonly variant: number;
  /** Shared by every record of the path, unless a key must be read per record. */
  readonly address: Address;
  readonly key: FieldExtractor | undefined;
}

interface RuntimePlan {
  readonly deliveries: readonly Delivery[];
  readonly variants: readonly Variant[];
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
    const { deliveries, variants } = plan;
    let last: Delivery | undefined;
    let payload = record.json;
    let held: LogRecord = record;
    // A renamed record is rendered once per record, then enveloped into each sink's memory.
    let renamed: (Buffer | undefined)[] | undefined;
    let meta: RecordMeta | undefined;
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i] as Delivery;
      const memory = d.sink.memory;
      // Each sink holds its records in memory of its own, so that what it holds is all it
      // keeps alive (a cluster record is a view into a decoder slab shared by many records).
      if (last === undefined || d.sink !== last.sink || d.variant !== last.variant) {
        const v = variants[d.variant] as Variant;
        const json = v.rewriter === undefined ? record.json : ((renamed ??= [])[d.variant] ??= v.rewriter.rewrite(record.json));
        const e = v.envelope;
        if (e.envelope === 'inline') meta ??= { sender: record.sender, receivedAtMs: performance.timeOrigin + record.receivedAt };
        payload = e.build(json, memory, meta);
        // The held record is the record as this destination delivers it (renamed, inline).
        held = new HeldRecord(record, payload, e.jsonStart, payload.length - e.jsonTail);
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
    const variantOf = new Map<string, number>();
    const variants: Variant[] = [];
    const deliveries: Delivery[] = p.destinations.map((d) => {
      const sink = this.sinks.get(d.sink);
      if (!sink) throw new Error(`routing names unknown sink ${d.sink}`);
      const format = d.format ?? { envelope: d.envelope };
      const id = JSON.stringify(format);
      let variant = variantOf.get(id);
      if (variant === undefined) {
        variantOf.set(id, (variant = variants.length));
        variants.push(compileVariant(format, p.path));
      }
      return {
        sink,
        variant,
        address: { target: d.target, routingKey: d.routingKey },
        key: d.keyField ? new FieldExtractor(d.keyField) : undefined,
      };
    });
    const counter = p.unrouted
      ? this.metrics.recordsUnrouted.labels(label, p.unrouted)
      : this.metrics.recordsRouted.labels(label);
    const plan = { deliveries, variants, counter, unrouted: p.unrouted };
    return this.plans.keep(rawPath, plan);
  }
}

function compileVariant(f: OutputOptions, path: string): Variant {
  const envelope = new EnvelopeBuilder(f.envelope ?? 'tagged', path, f);
  return { envelope, rewriter: rewritesNothing(f) ? undefined : new KeyRewriter(f) };
}
