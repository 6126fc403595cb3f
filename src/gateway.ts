import * as zmq from 'zeromq';
import { diffConfig, type ReloadSummary } from './config/diff.js';
import type { GatewayConfig } from './config/load.js';
import type { SinkConfig } from './config/sinks.js';
import {
  applyCurveServer,
  describeCurveConfig,
  startZapHandler,
  type ResolvedCurveConfig,
  type ZapHandler,
} from './ingress/curve/index.js';
import type { IngressDeps } from './ingress/deps.js';
import { SchemaCatalog, type SchemaDiff } from './zeek/schemas.js';
import type { Ingress } from './ingress/zmq-ingress.js';
import { createPullIngress } from './ingress/zmq-pull.js';
import { createSubIngress } from './ingress/zmq-sub.js';
import { RateLimitedLog, type Logger } from './ops/log.js';
import { LabelCap, type Metrics } from './ops/metrics.js';
import { Tap } from './routing/tap.js';
import { DeadLetters } from './routing/dead-letters.js';
import { Router } from './routing/router.js';
import { RoutingTable, type SinkAddressing } from './routing/table.js';
import { BufferedSink, openSpool, type SpoolConfig } from './buffer/index.js';
import type { OutboundMessage } from './record.js';
import { DryRunTransport } from './sinks/shared/dry-run.js';
import { SINK_KINDS, type TransportFactory } from './sinks/index.js';

/** How long a reload waits for a new sink to connect before routing to it anyway (it buffers, as at start). */
const SINK_JOIN_TIMEOUT_MS = 10_000;

export interface Readiness {
  ready: boolean;
  ingresses: Record<string, boolean>;
  sinks: Record<string, { connected: boolean; required: boolean; bufferedRecords: number }>;
}

/**
 * Builds the pipeline from the configuration (ingress → router → sinks) and runs it:
 * start, readiness, and a graceful drain on stop.
 */
export class Gateway {
  readonly sinks = new Map<string, BufferedSink>();
  readonly router: Router;
  /** Records as they are routed, for `zeek-log-gateway tap` (GET /-/tap). */
  readonly tap = new Tap();
  private readonly ingresses: Ingress[] = [];
  private readonly context = new zmq.Context();
  private zap: ZapHandler | undefined;
  private deadLetters: DeadLetters | undefined;
  private stopping: Promise<number> | undefined;
  /** Schemas of cluster batches per path and sender (GET /schemas). */
  readonly schemas: SchemaCatalog;
  /** Reloads run one after the other. */
  private reloading: Promise<unknown> = Promise.resolve();
  /** Old sink instances still draining after a reload. */
  private readonly retiring = new Set<Promise<void>>();
  /** How to build each configured sink's transport, its client library loaded (see loadTransports). */
  private readonly transports = new WeakMap<SinkConfig, TransportFactory<never>>();

  /** A gateway for `config`, the client libraries of its sinks loaded (and no others). */
  static async create(config: GatewayConfig, metrics: Metrics, logger: Logger, dryRun = false): Promise<Gateway> {
    const transports = await loadTransports(config, dryRun);
    return new Gateway(config, metrics, logger, dryRun, transports);
  }

  private constructor(
    private config: GatewayConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Print where each record would go instead of publishing it. */
    private readonly dryRun: boolean,
    transports: ReadonlyMap<SinkConfig, TransportFactory<never>>,
  ) {
    for (const [s, create] of transports) this.transports.set(s, create);
    const json = config.ingress.pull.json;
    this.schemas = new SchemaCatalog(this.schemaChangeReporter(), {
      timestamps: json.timestamps,
      includeUnsetFields: json.includeUnsetFields,
      naming: { scopeSeparator: json.scopeSeparator, fieldNameMap: json.fieldNameMap },
    });
    for (const s of config.sinks.filter((x) => x.enabled)) this.sinks.set(s.name, this.createSink(s));
    const addressing = addressingOf(config);
    this.router = new Router(new RoutingTable(config.routing, addressing), this.sinks, metrics, this.tap);
    this.deadLetters = this.createDeadLetters(config, this.sinks, addressing);
  }

  /**
   * A schema change: counted per path, and one warning with the diff. The warnings are
   * rate-limited per path and sender, so that a sender flapping between schemas cannot flood
   * the log (the count stays exact).
   */
  private schemaChangeReporter(): (d: SchemaDiff) => void {
    const paths = new LabelCap();
    const log = new RateLimitedLog(this.logger);
    return (d) => {
      this.metrics.schemaChanges.labels(paths.value(d.path)).inc();
      const { path, sender, added, removed, retyped } = d;
      log.warn(`schema\u0000${path}\u0000${sender}`, { path, sender, added, removed, retyped }, 'log schema changed');
    };
  }

  private createSink(s: SinkConfig): BufferedSink {
    const kind = SINK_KINDS.get(s.type);
    if (!kind) throw new Error(`unknown sink type ${s.type}`);
    const { logger, metrics } = this;
    const transport = this.dryRun ? new DryRunTransport(s.name, s.type) : this.transportOf(s)(s.options as never, { name: s.name, logger });
    const onRejected = (m: OutboundMessage, reason: string, sink: string): void => this.deadLetters?.fromSink(m, reason, sink);
    const spool = s.buffer.spool?.enabled ? (s.buffer.spool as SpoolConfig) : undefined;
    const openStore = spool && (() => openSpool(spool, s.name, { logger, metrics }));
    return new BufferedSink(s.name, s.type, transport, s.buffer, {
      metrics,
      logger,
      required: s.required,
      onRejected,
      openStore,
      validateAddress: kind.validateAddress,
    });
  }

  private transportOf(s: SinkConfig): TransportFactory<never> {
    const create = this.transports.get(s);
    if (!create) throw new Error(`sink ${s.name}: its transport was not loaded`);
    return create;
  }

  private createDeadLetters(
    config: GatewayConfig,
    sinks: ReadonlyMap<string, BufferedSink>,
    addressing: ReadonlyMap<string, SinkAddressing>,
  ): DeadLetters | undefined {
    const dl = config.deadLetter;
    const sink = sinks.get(dl.sink);
    if (!sink) return undefined;
    // The dead-letter destination is the default route of a table of its own, so its
    // address resolves by the same rules as every other destination.
    const destination = { sink: dl.sink, exchange: dl.exchange || undefined, routingKey: dl.routingKey, topic: dl.topic };
    const table = new RoutingTable(
      { include: [], exclude: [], stripFilterSuffix: false, routes: [], defaultRoute: { destinations: [destination] } },
      addressing,
    );
    return new DeadLetters(dl, sink, table, this.metrics);
  }

  /** Connects the sinks (in the background when a broker is down), then opens the ingress sockets. */
  async start(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.start()));
    for (const name of ['sub', 'pull'] as const) {
      const ingress = await this.createIngress(name, this.config);
      if (ingress) this.ingresses.push(ingress);
    }
    for (const ingress of this.ingresses) await ingress.start();
  }

  /** The ingress `name` as `config` describes it (not started), or undefined when disabled. */
  private async createIngress(name: 'sub' | 'pull', config: GatewayConfig): Promise<Ingress | undefined> {
    const section = config.ingress[name];
    if (!section.enabled) return undefined;
    if (section.security.enabled && !this.zap) {
      this.zap = await startZapHandler({
        context: this.context,
        logger: this.logger,
        metrics: this.metrics,
      });
    }
    const deps = this.ingressDeps(section.security);
    return name === 'sub' ? createSubIngress(config.ingress.sub, deps) : createPullIngress(config.ingress.pull, deps);
  }

  /**
   * Applies a new configuration while records flow (SIGHUP, POST /-/reload): new sinks start
   * and join once connected; routes swap between two ingress messages; removed and replaced
   * sinks stop taking records and drain for up to shutdown.lingerMs (a spool keeps what is
   * left); changed ingresses are re-bound. Throws, having changed nothing, when a new sink
   * cannot be built, a changed ingress cannot bind, or a spooled sink's new instance cannot
   * open the spool it was handed (the old configuration reopens it). Settings only a restart applies (http)
   * keep their running value.
   */
  reload(next: GatewayConfig): Promise<ReloadSummary> {
    const run = this.reloading.then(() => this.applyReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(requested: GatewayConfig): Promise<ReloadSummary> {
    if (this.stopping) throw new Error('the gateway is stopping');
    const diff = diffConfig(this.config, requested);
    const next: GatewayConfig = { ...requested, http: this.config.http };
    const summary: ReloadSummary = {
      changed: diff.changed,
      sinksAdded: diff.sinks.added.map((s) => s.name),
      sinksRemoved: diff.sinks.removed,
      sinksReplaced: diff.sinks.replaced.map((s) => s.name),
      ingressesRebound: diff.ingress,
      needRestart: diff.restartOnly,
    };
    for (const key of diff.restartOnly) this.logger.warn({ key }, `${key} changed: it applies at the next restart; the running value stays`);

    // 1. Build every new sink instance first: a failure here leaves everything as it was.
    for (const [sink, create] of await loadTransports(next, this.dryRun)) this.transports.set(sink, create);
    const created = new Map<string, BufferedSink>();
    try {
      for (const s of [...diff.sinks.added, ...diff.sinks.replaced]) created.set(s.name, this.createSink(s));
    } catch (err) {
      this.discard(created.values());
      throw err;
    }
    // A spool directory belongs to one instance at a time: a replaced sink with a spool hands
    // it over while the ingresses are held (the old one drains and closes, then the new opens it).
    const spooled = (s: BufferedSink | undefined): boolean => s?.options.spool?.enabled === true;
    const handOver = [...created.keys()].filter((name) => spooled(this.sinks.get(name)) || (this.sinks.has(name) && spooled(created.get(name))));
    const joining = [...created.keys()].filter((name) => !handOver.includes(name));

    // 2. Ingresses whose endpoints or options changed are re-bound before anything else changes:
    // one that cannot bind (an endpoint in use) goes back to what it was, and so does every
    // ingress re-bound before it, and the reload fails having changed nothing.
    const rebound: Array<'sub' | 'pull'> = [];
    try {
      for (const name of diff.ingress) {
        await this.rebind(name, next, this.config);
        rebound.push(name);
      }
    } catch (err) {
      for (const name of rebound.reverse()) await this.rebind(name, this.config, next).catch(() => undefined);
      this.discard(created.values());
      throw err;
    }

    // 3. New instances that need no hand-over connect while the old configuration runs.
    await Promise.all(joining.map((name) => this.join(created.get(name)!)));

    // 4. Swap: the routing table, the sink set and the dead letters change between two messages.
    const release = handOver.length > 0 ? this.router.hold() : undefined;
    try {
      const handed: string[] = [];
      try {
        for (const name of handOver) {
          const old = this.sinks.get(name)!;
          old.retire();
          handed.push(name);
          const left = await old.drain(next.shutdown.lingerMs);
          await old.close();
          this.logger.info({ sink: name, keptInSpool: left }, 'reload: replaced sink handed its spool over');
          await this.join(created.get(name)!);
        }
      } catch (err) {
        // A new instance could not open its spool (EACCES, ENOSPC, a bad dir): the old
        // configuration goes back in force, its sinks reopening their spools.
        const sink = handed.at(-1);
        this.logger.error({ sink, err: (err as Error).message }, 'reload: the new sink instance could not start; the old one takes its spool back');
        await this.restoreHandedOver(handed, created);
        for (const name of rebound.reverse()) await this.rebind(name, this.config, next).catch(() => undefined);
        throw new Error(`sink ${sink}: ${(err as Error).message}`, { cause: err });
      }
      const old = new Map(this.sinks);
      const sinks = new Map<string, BufferedSink>();
      for (const s of next.sinks.filter((x) => x.enabled)) sinks.set(s.name, created.get(s.name) ?? old.get(s.name)!);
      const addressing = addressingOf(next);
      const table = new RoutingTable(next.routing, addressing);
      const deadLetters = this.createDeadLetters(next, sinks, addressing);
      this.router.update(table, sinks);
      this.deadLetters = deadLetters;
      this.sinks.clear();
      for (const [name, sink] of sinks) this.sinks.set(name, sink);
      this.config = next;
      // 5. The old instances of removed and replaced sinks drain in the background.
      for (const [name, sink] of old) {
        if (sinks.get(name) === sink || handOver.includes(name)) continue;
        this.retire(sink, !sinks.has(name), next.shutdown.lingerMs);
      }
    } finally {
      release?.();
    }
    if (diff.logLevel) this.logger.level = next.log.level;

    this.logger.info(summary, diff.changed ? 'configuration reloaded' : 'configuration reloaded: no change');
    return summary;
  }

  /**
   * Undoes the hand-overs of a failed reload: every new instance closes (what it spooled stays
   * on disk), and the sinks handed over get a fresh instance built from the running
   * configuration, which reopens the spool and delivers what it holds. The other new instances
   * close too, and routing goes back to the running configuration's sinks.
   */
  private async restoreHandedOver(handed: readonly string[], created: ReadonlyMap<string, BufferedSink>): Promise<void> {
    for (const [name, sink] of created) {
      sink.retire();
      if (handed.includes(name)) await sink.close();
      else void sink.close();
    }
    for (const name of handed) {
      const restored = this.createSink(this.config.sinks.find((s) => s.name === name)!);
      try {
        await this.join(restored);
      } catch (err) {
        // The old spool cannot be opened either: records for this sink are dropped (counted as
        // closed) rather than held in memory that is never sent.
        this.logger.error({ sink: name, err: (err as Error).message }, 'reload: the old sink instance could not reopen its spool either; records for it are dropped until a reload or restart fixes it');
        await restored.close();
      }
      this.sinks.set(name, restored);
    }
    for (const sink of this.sinks.values()) sink.claimGauges();
    const addressing = addressingOf(this.config);
    this.router.update(new RoutingTable(this.config.routing, addressing), this.sinks);
    this.deadLetters = this.createDeadLetters(this.config, this.sinks, addressing);
  }

  /**
   * New instances of a reload that failed before the swap: they stop reporting, close, and the
   * instances in force claim their sinks' gauges back (a replacement set them when it was built).
   */
  private discard(created: Iterable<BufferedSink>): void {
    for (const sink of created) {
      sink.retire();
      void sink.close();
    }
    for (const sink of this.sinks.values()) sink.claimGauges();
  }

  /** Starts a sink and waits (bounded) until it is connected. */
  private async join(sink: BufferedSink): Promise<void> {
    await sink.start();
    const end = Date.now() + SINK_JOIN_TIMEOUT_MS;
    while (!sink.isConnected() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    if (!sink.isConnected()) {
      this.logger.warn({ sink: sink.name, waitedMs: SINK_JOIN_TIMEOUT_MS }, 'reload: new sink not connected yet; routing to it anyway (it buffers)');
    }
  }

  /** A sink instance leaving after a reload: no new records; drains, then closes. */
  private retire(sink: BufferedSink, removed: boolean, lingerMs: number): void {
    sink.retire();
    const done = (async () => {
      const left = await sink.drain(lingerMs);
      if (left > 0 && !sink.keepsRecords) this.logger.error({ sink: sink.name, undelivered: left }, 'reload: old sink instance could not deliver everything within shutdown.lingerMs');
      await sink.close();
      if (removed) this.removeSinkSeries(sink.name);
      this.logger.info({ sink: sink.name, removed, keptInSpool: sink.keepsRecords ? left : 0 }, 'reload: old sink instance closed');
    })().catch((err: Error) => this.logger.error({ sink: sink.name, err: err.message }, 'reload: closing the old sink instance failed'));
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
  }

  /** A removed sink's gauges go away with it (its counters stay until the process ends). */
  private removeSinkSeries(name: string): void {
    const m = this.metrics;
    for (const g of [m.sinkConnected, m.sinkBufferRecords, m.sinkBufferBytes, m.sinkBufferMaxRecords, m.sinkBufferMaxBytes, m.spoolDiskBytes, m.spoolMaxBytes]) {
      g.remove(name);
    }
  }

  /**
   * Stops an ingress (reading what its socket queued) and binds it anew as `config` says. When
   * that fails, it binds it as `previous` said again and throws.
   */
  private async rebind(name: 'sub' | 'pull', config: GatewayConfig, previous: GatewayConfig): Promise<void> {
    const i = this.ingresses.findIndex((x) => x.name === name);
    if (i >= 0) {
      await this.ingresses[i]!.stop();
      this.ingresses.splice(i, 1);
    }
    const ingress = await this.createIngress(name, config);
    if (!ingress) return;
    try {
      await ingress.start();
    } catch (err) {
      await ingress.stop(0);
      const back = await this.createIngress(name, previous);
      if (back) {
        await back.start();
        this.ingresses.push(back);
      }
      const endpoints = config.ingress[name].endpoints.join(', ');
      throw new Error(`ingress.${name}.endpoints: cannot bind ${endpoints}: ${(err as Error).message}; the ingress stays as it was`);
    }
    this.ingresses.push(ingress);
  }

  readiness(): Readiness {
    const ingresses = Object.fromEntries(this.ingresses.map((i) => [i.name, i.isReady()]));
    const sinks = Object.fromEntries(
      [...this.sinks.values()].map((s) => [s.name, { connected: s.isConnected(), required: s.required, bufferedRecords: s.records }]),
    );
    const ready =
      this.stopping === undefined &&
      this.ingresses.length > 0 &&
      Object.values(ingresses).every(Boolean) &&
      Object.values(sinks).every((s) => s.connected || !s.required);
    return { ready, ingresses, sinks };
  }

  /**
   * Stops reading, delivers what is buffered for up to `lingerMs`, then closes the
   * sinks. Returns the number of records that could not be delivered: lost (logged per sink) or,
   * for a spooled sink, kept on disk for the next start.
   */
  stop(lingerMs = this.config.shutdown.lingerMs): Promise<number> {
    this.stopping ??= this.doStop(lingerMs);
    return this.stopping;
  }

  private async doStop(lingerMs: number): Promise<number> {
    await this.reloading;
    this.tap.closeAll();
    // Reading what the sockets already queued takes part of the linger, at most 2 s.
    await Promise.all(this.ingresses.map((i) => i.stop(Math.min(2000, lingerMs / 2))));
    const held = [...this.sinks.values()].reduce((n, s) => n + s.records, 0);
    this.logger.info({ bufferedRecords: held, lingerMs }, 'ingress stopped; draining sinks');
    const left = await Promise.all([...this.sinks.values()].map(async (s) => [s.name, await s.drain(lingerMs)] as const));
    let undelivered = 0;
    let keptInSpool = 0;
    for (const [sink, n] of left) {
      if (n === 0) continue;
      // A spooled sink keeps its records for the next start (and says so when it closes).
      if (this.sinks.get(sink)?.keepsRecords) keptInSpool += n;
      else {
        undelivered += n;
        this.logger.error({ sink, undelivered: n }, 'records not delivered before the shutdown linger ran out');
      }
    }
    await Promise.all([...this.sinks.values()].map((s) => s.close()));
    await Promise.all(this.retiring);
    await this.zap?.stop();
    this.logger.info({ undelivered, keptInSpool }, 'gateway stopped');
    return undelivered + keptInSpool;
  }

  private ingressDeps(security: ResolvedCurveConfig): IngressDeps {
    return {
      router: this.router,
      metrics: this.metrics,
      logger: this.logger,
      context: this.context,
      schemas: this.schemas,
      // Read at each rejection: a reload may add, change or remove the dead-letter sink.
      deadLetter: (ingress, reason, detail, frames) => this.deadLetters?.fromIngress(ingress, reason, detail, frames),
      secure: (socket, ingress) => {
        for (const w of security.warnings) this.logger.warn({ ingress }, w);
        if (!security.enabled || !this.zap) return;
        applyCurveServer(socket, { curve: security, zap: this.zap, zapDomain: ingress });
        this.logger.info(
          { ingress, ...describeCurveConfig(security) },
          'CURVE on: Zeek senders need curve_server_publickey = serverPublicKey',
        );
      },
    };
  }
}

/**
 * Loads the client library of every enabled sink's kind (a dry run publishes nothing and
 * loads none): each is imported on first use, so a gateway carries only the clients it needs.
 */
async function loadTransports(config: GatewayConfig, dryRun: boolean): Promise<Map<SinkConfig, TransportFactory<never>>> {
  const loaded = new Map<SinkConfig, TransportFactory<never>>();
  if (dryRun) return loaded;
  for (const s of config.sinks.filter((x) => x.enabled)) {
    const kind = SINK_KINDS.get(s.type);
    if (!kind) throw new Error(`unknown sink type ${s.type}`);
    loaded.set(s, await kind.load(s.options as never));
  }
  return loaded;
}

/** What the routing table needs of each enabled sink. */
function addressingOf(config: GatewayConfig): Map<string, SinkAddressing> {
  const addressing = new Map<string, SinkAddressing>();
  for (const s of config.sinks.filter((x) => x.enabled)) {
    const kind = SINK_KINDS.get(s.type);
    if (!kind) throw new Error(`unknown sink type ${s.type}`);
    addressing.set(s.name, { name: s.name, envelope: s.envelope, defaults: s.addressing, address: kind.address });
  }
  return addressing;
}
