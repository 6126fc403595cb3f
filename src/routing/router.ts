import { HeldRecord, type LogRecord, type Address } from '../record.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { Tap, TapPlan } from './tap.js';
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
  /** What the live tap shows for the path. */
  readonly tap: TapPlan;
}

/** Everything a configuration decides; replaced whole on a reload. */
interface RoutingState {
  readonly table: RoutingTable;
  readonly sinks: ReadonlyMap<string, SinkInput>;
  readonly plans: BoundedCache<RuntimePlan>;
  readonly blockingSinks: readonly SinkInput[];
}

/** Beyond this many distinct paths, plans are computed per record instead of cached. */
const MAX_CACHED_PATHS = 4096;

/**
 * Hands each record to the sinks its path is routed to, with the envelope applied.
 * Knows nothing about brokers; sinks know nothing about routes.
 */
export class Router {
  private state: RoutingState;
  private readonly pathLabels = new LabelCap();
  /** While set, ingresses wait before reading the next message (a reload that swaps a spool). */
  private held: Promise<void> | undefined;

  constructor(
    table: RoutingTable,
    sinks: ReadonlyMap<string, SinkInput>,
    private readonly metrics: Metrics,
    /** Shows routed records to `zeek-log-gateway tap` clients while one is attached. */
    private readonly tap?: Tap,
  ) {
    this.state = Router.state(table, sinks);
  }

  private static state(table: RoutingTable, sinks: ReadonlyMap<string, SinkInput>): RoutingState {
    return { table, sinks, plans: new BoundedCache(MAX_CACHED_PATHS), blockingSinks: [...sinks.values()].filter((s) => s.blocking) };
  }

  /**
   * Puts a new routing table and set of sinks in force. Ingresses hand over each message's
   * records in one synchronous call, so the swap falls between two messages: every record
   * is routed wholly by the old or wholly by the new configuration.
   */
  update(table: RoutingTable, sinks: ReadonlyMap<string, SinkInput>): void {
    this.state = Router.state(table, new Map(sinks));
  }

  /** Holds the ingresses before their next message until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.held = held;
    return () => {
      if (this.held === held) this.held = undefined;
      release();
    };
  }

  /** Set while a reload holds the ingresses: a message received meanwhile waits for it before being routed. */
  get holding(): Promise<void> | undefined {
    return this.held;
  }

  route(record: LogRecord): void {
    const plan = this.state.plans.get(record.path) ?? this.compile(record.path);
    plan.counter.inc();
    if (this.tap?.active) this.tap.offer(record, plan.tap);
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
    if (this.held) return true;
    for (const s of this.state.blockingSinks) if (s.isFull()) return true;
    return false;
  }

  /** Resolves when no blocking sink is full (and no reload holds the ingresses). */
  async whenWritable(): Promise<void> {
    for (;;) {
      if (this.held) {
        await this.held;
        continue;
      }
      const full = this.state.blockingSinks.find((s) => s.isFull());
      if (!full) return;
      await full.whenWritable();
    }
  }

  private compile(rawPath: string): RuntimePlan {
    const { table, sinks, plans } = this.state;
    const p = table.plan(rawPath);
    const label = this.pathLabels.value(p.path);
    const variantOf = new Map<string, number>();
    const variants: Variant[] = [];
    const deliveries: Delivery[] = p.destinations.map((d) => {
      const sink = sinks.get(d.sink);
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
      ? this.metrics.hotCounter('recordsUnrouted', label, p.unrouted)
      : this.metrics.hotCounter('recordsRouted', label);
    const tap: TapPlan = {
      path: p.path,
      destinations: p.destinations.map((d) => ({ sink: d.sink, target: d.target, routingKey: d.routingKey, route: d.route ?? '' })),
      unrouted: p.unrouted,
    };
    const plan = { deliveries, variants, counter, unrouted: p.unrouted, tap };
    return plans.keep(rawPath, plan);
  }
}

function compileVariant(f: OutputOptions, path: string): Variant {
  const envelope = new EnvelopeBuilder(f.envelope ?? 'tagged', path, f);
  return { envelope, rewriter: rewritesNothing(f) ? undefined : new KeyRewriter(f) };
}
