import * as zmq from 'zeromq';
import type { GatewayConfig } from './config/load.js';
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
import { DeadLetters } from './routing/dead-letters.js';
import { Router } from './routing/router.js';
import { RoutingTable, type SinkAddressing } from './routing/table.js';
import { BufferedSink, openSpool, type SpoolConfig } from './buffer/index.js';
import type { OutboundMessage } from './record.js';
import { DryRunTransport } from './sinks/shared/dry-run.js';
import { SINK_KINDS } from './sinks/index.js';

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
  private readonly ingresses: Ingress[] = [];
  private readonly context = new zmq.Context();
  private zap: ZapHandler | undefined;
  private readonly deadLetters: DeadLetters | undefined;
  private stopping: Promise<number> | undefined;
  /** Schemas of cluster batches per path and sender (GET /schemas). */
  readonly schemas: SchemaCatalog;

  constructor(
    private readonly config: GatewayConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Print where each record would go instead of publishing it. */
    dryRun = false,
  ) {
    const json = config.ingress.pull.json;
    this.schemas = new SchemaCatalog(this.schemaChangeReporter(), {
      timestamps: json.timestamps,
      includeUnsetFields: json.includeUnsetFields,
      naming: { scopeSeparator: json.scopeSeparator, fieldNameMap: json.fieldNameMap },
    });
    const addressing = new Map<string, SinkAddressing>();
    for (const s of config.sinks.filter((x) => x.enabled)) {
      const kind = SINK_KINDS.get(s.type);
      if (!kind) throw new Error(`unknown sink type ${s.type}`);
      const transport = dryRun ? new DryRunTransport(s.name, s.type) : kind.create(s.options as never, { name: s.name, logger });
      const onRejected = (m: OutboundMessage, reason: string, sink: string): void => this.deadLetters?.fromSink(m, reason, sink);
      const spool = s.buffer.spool?.enabled ? (s.buffer.spool as SpoolConfig) : undefined;
      const openStore = spool && (() => openSpool(spool, s.name, { logger, metrics }));
      this.sinks.set(
        s.name,
        new BufferedSink(s.name, s.type, transport, s.buffer, {
          metrics,
          logger,
          required: s.required,
          onRejected,
          openStore,
          validateAddress: kind.validateAddress,
        }),
      );
      addressing.set(s.name, { name: s.name, envelope: s.envelope, defaults: s.addressing, address: kind.address });
    }
    this.router = new Router(new RoutingTable(config.routing, addressing), this.sinks, metrics);
    this.deadLetters = this.createDeadLetters(addressing);
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

  private createDeadLetters(addressing: ReadonlyMap<string, SinkAddressing>): DeadLetters | undefined {
    const dl = this.config.deadLetter;
    const sink = this.sinks.get(dl.sink);
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
    const { sub, pull } = this.config.ingress;
    if ((sub.enabled && sub.security.enabled) || (pull.enabled && pull.security.enabled)) {
      this.zap = await startZapHandler({
        context: this.context,
        logger: this.logger,
        metrics: this.metrics,
      });
    }
    if (sub.enabled) this.ingresses.push(createSubIngress(sub, this.ingressDeps(sub.security)));
    if (pull.enabled) this.ingresses.push(createPullIngress(pull, this.ingressDeps(pull.security)));
    for (const ingress of this.ingresses) await ingress.start();
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
      deadLetter: this.deadLetters && ((ingress, reason, detail, frames) => this.deadLetters?.fromIngress(ingress, reason, detail, frames)),
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
