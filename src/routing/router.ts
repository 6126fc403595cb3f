import type { LogRecord, Address } from '../record.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { BufferedSink } from '../buffer/index.js';
import { EnvelopeBuilder } from './envelope.js';
import { KeyRewriter, rewritesNothing } from './rewrite-keys.js';
import type { OutputOptions } from './config.js';
import { FieldExtractor } from './extract-field.js';
import type { RoutingTable, UnroutedReason } from './table.js';

/** One distinct output format of a path: its payload is built once per record. */
interface Variant {
  readonly envelope: EnvelopeBuilder;
  /** Renames keys / converts time fields; undefined when the format keeps the record as is. */
  readonly rewriter: KeyRewriter | undefined;
}

interface Delivery {
  readonly sink: BufferedSink;
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
    const { deliveries, variants } = plan;
    // Payloads per distinct format, built on first use: one format (the usual case) needs no array.
    let single: Buffer | undefined;
    let many: (Buffer | undefined)[] | undefined;
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i] as Delivery;
      let payload: Buffer;
      if (variants.length === 1) payload = single ??= render(variants[0]!, record);
      else payload = (many ??= new Array<Buffer | undefined>(variants.length))[d.variant] ??= render(variants[d.variant]!, record);
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
    if (this.plans.size < MAX_CACHED_PATHS) this.plans.set(rawPath, plan);
    return plan;
  }
}

function compileVariant(f: OutputOptions, path: string): Variant {
  const envelope = new EnvelopeBuilder(f.envelope ?? 'tagged', path, f);
  return { envelope, rewriter: rewritesNothing(f) ? undefined : new KeyRewriter(f) };
}

/** The payload of one format: record bytes, rewritten if asked, in the envelope. */
function render(v: Variant, record: LogRecord): Buffer {
  const json = v.rewriter === undefined ? record.json : v.rewriter.rewrite(record.json);
  const e = v.envelope;
  if (e.envelope === 'raw') return json;
  if (e.envelope === 'tagged') return e.build(json);
  return e.build({ json, sender: record.sender, receivedAtMs: performance.timeOrigin + record.receivedAt });
}
