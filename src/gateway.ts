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
import {
  BufferedSink,
  HandedOverStore,
  openSpool,
  recordBacklog,
  removeDelivered,
  sameDirectory,
  spoolOptionsFor,
  withBacklog,
  type MessageStore,
  type SpoolConfig,
} from './buffer/index.js';
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
    // The spool, behind the older directories its marker names (a reload moved it and the gateway stopped before they were delivered).
    const openStore =
      spool &&
      (async (busyDirs: readonly string[]) =>
        withBacklog(await openSpool(spool, s.name, { logger, metrics }), {
          logger: logger.child({ sink: s.name }),
          busy: (dir) => this.spoolBusy(dir, busyDirs),
          onEmptied: this.whenDelivered(s.name),
        }));
    return new BufferedSink(s.name, s.type, transport, s.buffer, {
      metrics,
      logger,
      required: s.required,
      onRejected,
      openStore,
      validateAddress: kind.validateAddress,
    });
  }

  /** Why a backlog directory must not be opened: a running instance has it open (its own spool, or one it delivers). */
  private spoolBusy(dir: string, busyDirs: readonly string[]): string | undefined {
    if (busyDirs.some((d) => sameDirectory(d, dir))) return 'delivered by the sink instance being replaced';
    for (const sink of this.sinks.values()) {
      if (sameDirectory(sink.spoolDir, dir)) return `the spool directory of sink ${sink.name}`;
      if (sink.deliveringFrom.some((d) => sameDirectory(d, dir))) return `being delivered by sink ${sink.name}`;
    }
    return undefined;
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
   * and join once connected; routes swap between two ingress messages; a replaced sink's old
   * instance hands everything it has not delivered to the new one (see handOver); removed sinks
   * stop taking records and drain for up to shutdown.lingerMs (a spool keeps what is left);
   * changed ingresses are re-bound. Throws, having changed nothing, when a new sink cannot be
   * built or started, a changed ingress cannot bind, or a new instance cannot reopen the spool it
   * was handed (the old configuration reopens it). Settings only a restart applies (http) keep
   * their running value.
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

    // A spool directory a running instance still delivers for its predecessor cannot be opened again
    // until it is emptied (two spools never share a directory).
    for (const s of diff.sinks.replaced) {
      const dir = s.buffer.spool?.enabled ? spoolOptionsFor(s.buffer.spool, s.name).dir : undefined;
      const busy = this.sinks.get(s.name)?.deliveringFrom.find((d) => sameDirectory(d, dir));
      if (busy !== undefined) {
        throw new Error(`sinks.${s.name}.buffer.spool.dir: ${busy} still holds records of an earlier reload being delivered; reload again once they are (logged: reload: the replaced spool directory was delivered and removed)`);
      }
    }

    // 1. Build every new sink instance first: a failure here leaves everything as it was.
    for (const [sink, create] of await loadTransports(next, this.dryRun)) this.transports.set(sink, create);
    const created = new Map<string, BufferedSink>();
    try {
      for (const s of [...diff.sinks.added, ...diff.sinks.replaced]) created.set(s.name, this.createSink(s));
    } catch (err) {
      this.discard(created.values());
      throw err;
    }
    // A replaced sink hands what its old instance holds to the new one. A new instance that opens
    // the old one's spool directory (a directory belongs to one instance at a time) starts once the
    // old one closed it, while the ingresses are held; every other new instance starts now.
    const replaced = diff.sinks.replaced.map((s) => s.name);
    const reopens = (name: string): boolean => sameDirectory(this.sinks.get(name)?.spoolDir, created.get(name)?.spoolDir);
    // Those that can fail (the spool cannot open) go first, so that a failure finds only them handed over.
    const handOver = [...replaced.filter(reopens), ...replaced.filter((name) => !reopens(name))];
    const joining = [...created.keys()].filter((name) => !reopens(name));

    // 2. Ingresses whose endpoints or options changed are re-bound before anything else changes:
    // one that cannot bind (an endpoint in use) goes back to what it was, and so does every
    // ingress re-bound before it, and the reload fails having changed nothing.
    const rebound: Array<'sub' | 'pull'> = [];
    const rebindBack = async (): Promise<void> => {
      for (const name of rebound.reverse()) await this.rebind(name, this.config, next).catch(() => undefined);
    };
    try {
      for (const name of diff.ingress) {
        await this.rebind(name, next, this.config);
        rebound.push(name);
      }
    } catch (err) {
      await rebindBack();
      this.discard(created.values());
      throw err;
    }

    // 3. New instances that need no spool of an old one connect while the old configuration runs.
    // One that cannot start (its spool cannot open) fails the reload, having changed nothing.
    const joined = await Promise.allSettled(joining.map((name) => this.join(created.get(name)!)));
    const failedJoin = joined.findIndex((r) => r.status === 'rejected');
    if (failedJoin >= 0) {
      const sink = joining[failedJoin];
      const err = (joined[failedJoin] as PromiseRejectedResult).reason as Error;
      this.logger.error({ sink, err: err.message }, 'reload: a new sink instance could not start; the running configuration stays');
      await rebindBack();
      this.discard(created.values());
      throw new Error(`sink ${sink}: ${err.message}`, { cause: err });
    }

    // 4. Swap: the routing table, the sink set and the dead letters change between two messages.
    const release = handOver.length > 0 ? this.router.hold() : undefined;
    try {
      const handed: string[] = [];
      try {
        for (const name of handOver) {
          const old = this.sinks.get(name)!;
          old.retire();
          handed.push(name);
          await this.handOver(old, created.get(name)!, reopens(name), next.shutdown.lingerMs);
        }
      } catch (err) {
        // A new instance could not open the spool it was handed (EACCES, ENOSPC, a bad dir): the
        // old configuration goes back in force, its sinks reopening their spools.
        const sink = handed.at(-1);
        this.logger.error({ sink, err: (err as Error).message }, 'reload: the new sink instance could not start; the old one takes its spool back');
        await this.restoreHandedOver(handed, created);
        await rebindBack();
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
      // 5. The old instances of removed sinks drain in the background.
      for (const [name, sink] of old) {
        if (sinks.has(name)) continue;
        this.retire(sink, true, next.shutdown.lingerMs);
      }
    } finally {
      release?.();
    }
    if (diff.logLevel) this.logger.level = next.log.level;

    this.logger.info(summary, diff.changed ? 'configuration reloaded' : 'configuration reloaded: no change');
    return summary;
  }

  /**
   * A replaced sink's old instance gives its records to the new one, while the ingresses are
   * held: it sends no new batch and waits up to `lingerMs` for those in flight to settle, then
   * everything not acknowledged goes over in order, before any record the new instance takes.
   * A spool in the directory the new instance uses is closed and reopened by it; any other store
   * (memory, or a spool in a directory the new instance does not use) is delivered by the new
   * instance first, and a spool directory emptied that way is removed.
   */
  private async handOver(from: BufferedSink, to: BufferedSink, reopen: boolean, lingerMs: number): Promise<void> {
    const delivering = from.deliveringFrom;
    const store = await from.handOver(lingerMs);
    const handedOver = store.records;
    if (reopen) {
      // A store that still delivers its own predecessor's spool: those records go on to `to` too.
      // (Split only here: a store moving whole to a new directory keeps its chain.)
      const { backlog, own } = store instanceof HandedOverStore ? store.split() : { backlog: undefined, own: store };
      await own.close();
      // The reopened spool's marker names the directories `backlog` has open: `to` takes them from it.
      try {
        await this.join(to, delivering);
      } catch (err) {
        // Closed, not stranded open: the restored instance's spool marker names it, and it reopens it.
        await backlog?.close();
        throw err;
      }
      if (backlog) to.adopt(backlog, this.whenDelivered(to.name));
    } else {
      to.adopt(store, this.whenDelivered(to.name));
    }
    // Recorded in the new spool directory, so that a stop before they are delivered does not strand them.
    this.recordBacklog(to);
    this.logger.info({ sink: to.name, handedOver, spool: store.location, reopened: reopen }, 'reload: replaced sink handed its records over');
  }

  /**
   * What happens to a predecessor's store once its successor delivered all it held: its spool
   * directories go, and the sink's backlog marker no longer names them.
   */
  private whenDelivered(sink: string): (emptied: MessageStore) => Promise<void> {
    return async (emptied) => {
      try {
        for (const spool of await removeDelivered(emptied)) {
          this.logger.info({ sink, spool }, 'reload: the replaced spool directory was delivered and removed');
        }
      } catch (err) {
        this.logger.error({ sink, spool: emptied.location, err: (err as Error).message }, 'reload: the replaced spool directory was delivered but could not be removed');
      }
      const current = this.sinks.get(sink);
      if (current) this.recordBacklog(current);
    };
  }

  /**
   * Writes in `sink`'s spool directory which older directories it still delivers first (see
   * spool/marker.ts), or removes the marker once there are none.
   */
  private recordBacklog(sink: BufferedSink): void {
    const dir = sink.spoolDir;
    const backlog = sink.deliveringFrom;
    if (dir !== undefined) recordBacklog(dir, backlog, this.logger.child({ sink: sink.name }));
    else if (backlog.length > 0) {
      this.logger.warn(
        { sink: sink.name, deliverFirst: backlog },
        'reload: the sink has no spool now; if the gateway stops before these directories are delivered, set its spool.dir to each of them for a run',
      );
    }
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

  /** Starts a sink and waits (bounded) until it is connected (`busyDirs`: see BufferedSink.start). */
  private async join(sink: BufferedSink, busyDirs: readonly string[] = []): Promise<void> {
    await sink.start(busyDirs);
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
      const kept = Math.min(left, sink.keptRecords);
      if (left > kept) this.logger.error({ sink: sink.name, undelivered: left - kept }, 'reload: old sink instance could not deliver everything within shutdown.lingerMs');
      await sink.close();
      if (removed) this.removeSinkSeries(sink.name);
      this.logger.info({ sink: sink.name, removed, keptInSpool: kept }, 'reload: old sink instance closed');
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
      // A spool keeps its records for the next start (and says so when it closes).
      const kept = Math.min(n, this.sinks.get(sink)?.keptRecords ?? 0);
      keptInSpool += kept;
      if (n > kept) {
        undelivered += n - kept;
        this.logger.error({ sink, undelivered: n - kept }, 'records not delivered before the shutdown linger ran out');
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
