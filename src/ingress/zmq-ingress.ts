import * as zmq from 'zeromq';
import type { Logger } from '../ops/log.js';
import { RateLimitedLog } from '../ops/log.js';
import { LabelCap, senderLabel, type Metrics } from '../ops/metrics.js';
import type { IngressDeps, RecordOutlet, RejectHook } from './deps.js';
import { countSocketEvents } from './socket-events.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { RECEIVE_TIMEOUT_MS, Receiver } from './receiver.js';

/** What the gateway needs from an ingress. */
export interface Ingress {
  readonly name: string;
  start(): Promise<void>;
  /**
   * Stops taking new connections and data, routes what the socket had already queued
   * (for up to `drainMs`), then closes it.
   */
  stop(drainMs?: number): Promise<void>;
  /** True once every endpoint is bound (or connected). */
  isReady(): boolean;
}

/** Turns one received message into records (calling route) or a rejection. */
export type MessageHandler = (frames: Buffer[], receivedAt: number, sink: IngressSink) => void;

/** What a message handler may do with a message. */
export interface IngressSink {
  route: RecordOutlet['route'];
  reject(reason: string, detail: string): void;
  /** Counts accepted records per path and sender (cluster batches count many at once). */
  accepted(path: string, sender: string | undefined, records: number): void;
}

export interface ZmqIngressOptions {
  name: string;
  socket: zmq.Subscriber | zmq.Pull;
  endpoints: readonly string[];
  mode: 'bind' | 'connect';
  handler: MessageHandler;
  router: RecordOutlet;
  metrics: Metrics;
  logger: Logger;
  /** Watches socket events (connections, handshakes) for metrics; returns a stop function. */
  monitor?: ((socket: zmq.Socket) => () => void) | undefined;
  /** Receives rejected messages (dead letters). */
  deadLetter?: RejectHook | undefined;
}

/**
 * The receive loop shared by the SUB and PULL ingresses: read a message, hand it to the
 * format's handler, and stop reading while a blocking sink is full, so that ZeroMQ's
 * own high-water mark applies backpressure (PUSH senders wait or drop at their HWM).
 * A handler never throws for bad input; if one does anyway, the message is counted as
 * rejected and the loop goes on.
 */
export class ZmqIngress implements Ingress {
  readonly name: string;
  private bound = false;
  private stopped = false;
  /** performance.now() of the last message read, to tell when a draining socket is empty. */
  private lastReceived = 0;
  /** Resolves when stop() begins: a loop parked behind a full sink wakes up to drain the socket. */
  private stopping!: () => void;
  private readonly stopSignal = new Promise<void>((resolve) => (this.stopping = resolve));
  private loop: Promise<void> | undefined;
  private stopMonitor: (() => void) | undefined;
  private readonly log: RateLimitedLog;
  private readonly sink: IngressSink;
  private readonly messages;
  /** The message being handled, so that a rejection can carry its frames to the dead letters. */
  private current: Buffer[] = [];
  /** The socket's only reader; unbinds only while no receive is in flight. */
  private readonly receiver: Receiver;

  constructor(private readonly opts: ZmqIngressOptions) {
    this.name = opts.name;
    const logger = opts.logger.child({ ingress: opts.name });
    this.log = new RateLimitedLog(logger);
    this.messages = opts.metrics.hotCounter('ingressMessages', opts.name);
    this.sink = this.makeSink();
    this.receiver = new Receiver(opts.socket);
  }

  async start(): Promise<void> {
    const { socket, endpoints, mode } = this.opts;
    this.stopMonitor = this.opts.monitor?.(socket);
    for (const ep of endpoints) {
      if (mode === 'bind') await socket.bind(ep);
      else socket.connect(ep);
    }
    this.bound = true;
    this.opts.logger.info({ ingress: this.name, endpoints, mode }, 'ingress listening');
    this.loop = this.run();
  }

  isReady(): boolean {
    return this.bound && !this.stopped;
  }

  async stop(drainMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping();
    const { socket, endpoints, mode } = this.opts;
    // PULL: unbinding first keeps what ZeroMQ already queued for us, and PUSH senders keep their
    // unsent batches for the next logger. SUB: unbinding would discard the queue, and a
    // connecting PUB keeps queueing for us across a restart anyway, so it drains while bound.
    // (What sits in TCP buffers when the socket closes is lost: ZeroMQ cannot acknowledge.)
    if (socket instanceof zmq.Pull) {
      if (mode === 'bind') await this.receiver.unbind(endpoints);
      else {
        for (const ep of endpoints) {
          try {
            socket.disconnect(ep);
          } catch {
            // Already gone; closing below is enough.
          }
        }
      }
    }
    const deadline = performance.now() + drainMs;
    this.lastReceived = performance.now();
    while (performance.now() < deadline && performance.now() - this.lastReceived < 100) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopMonitor?.();
    socket.close();
    // The loop may be parked behind a full blocking sink; it ends when the sinks close.
    // Waiting for it here would deadlock the shutdown, so the wait is bounded.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, Math.max(50, deadline - performance.now()))))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const { socket, handler, router } = this.opts;
    const receiver = this.receiver;
    let sinceYield = 0;
    for (;;) {
      // zeromq.js resolves receive() at once while messages are queued, so without a turn of the
      // event loop now and then the sinks could not send (measured: buffers swelling to their
      // high-water marks and 100-400 ms stalls at full rate).
      if (++sinceYield === 64) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      let frames: Buffer[];
      try {
        frames = await receiver.receive();
      } catch (err) {
        // Nothing within the receive timeout: the turn lets a pending unbind run.
        if (receiver.timedOut(err)) continue;
        if (this.stopped || socket.closed) return;
        this.log.error('receive', { err: (err as Error).message }, 'receive failed');
        continue;
      }
      // A reload handing a sink's spool over holds routing: this message goes by the new configuration.
      const held = router.holding;
      if (held) await held;
      const now = performance.now();
      this.lastReceived = now;
      this.messages.inc();
      this.current = frames;
      try {
        handler(frames, now, this.sink);
      } catch (err) {
        this.sink.reject('internal-error', (err as Error).stack ?? String(err));
      }
      // While stopping, the socket's queue is read even past the high-water mark: what the sinks
      // cannot deliver within the linger is then reported (or kept in a spool), not lost unseen.
      if (!this.stopped && router.mustWait()) await Promise.race([router.whenWritable(), this.stopSignal]);
    }
  }

  private makeSink(): IngressSink {
    const { metrics, router } = this.opts;
    const name = this.name;
    const log = this.log;
    const deadLetter = this.opts.deadLetter;
    const current = (): Buffer[] => this.current;
    // Paths and senders come from the network: cached and labelled up to a bound.
    const received = new BoundedCache<{ inc(n: number): void }>(4096);
    const paths = new LabelCap();
    const senders = new LabelCap();
    const rejected = new Map<string, { inc(): void }>();
    return {
      route: (record) => router.route(record),
      reject(reason, detail) {
        let c = rejected.get(reason);
        if (!c) rejected.set(reason, (c = metrics.ingressRejected.labels(name, reason)));
        c.inc();
        log.warn(`reject:${reason}`, { reason, detail }, 'message rejected');
        deadLetter?.(name, reason, detail, current());
      },
      accepted(path, sender, records) {
        const key = sender === undefined ? path : `${path}\u0000${sender}`;
        const c = received.get(key) ?? received.keep(key, metrics.hotCounter('recordsReceived', name, paths.value(path), senders.value(senderLabel(sender))));
        c.inc(records);
      },
    };
  }
}

/**
 * libzmq's own size limit: far above ours, so an oversized record is counted and
 * rejected by us instead of making libzmq drop the sender's connection (and with it
 * the good records queued behind it). It only guards memory against absurd frames.
 */
export const socketSizeLimit = (maxMessageSize: number): number => Math.max(maxMessageSize * 16, 64 * 1024 * 1024);

/** Socket options every ingress socket shares. */
export function ingressSocketOptions(
  cfg: { receiveHighWaterMark: number; maxMessageSize: number },
  deps: Pick<IngressDeps, 'context'>,
): { context: zmq.Context; receiveHighWaterMark: number; maxMessageSize: number; linger: number; receiveTimeout: number } {
  return {
    context: deps.context,
    receiveHighWaterMark: cfg.receiveHighWaterMark,
    maxMessageSize: socketSizeLimit(cfg.maxMessageSize),
    linger: 0,
    // A receive in flight ends within this, so that stop() can unbind safely (see Receiver).
    receiveTimeout: RECEIVE_TIMEOUT_MS,
  };
}

/** Secures a new ingress socket (CURVE, before any bind) and builds its receive loop from the gateway's deps. */
export function createZmqIngress(
  name: string,
  socket: zmq.Subscriber | zmq.Pull,
  where: { endpoints: readonly string[]; mode: 'bind' | 'connect' },
  handler: MessageHandler,
  deps: IngressDeps,
): ZmqIngress {
  deps.secure?.(socket, name);
  return new ZmqIngress({
    name,
    socket,
    ...where,
    handler,
    router: deps.router,
    metrics: deps.metrics,
    logger: deps.logger,
    monitor: (s) => countSocketEvents(s, name, deps.metrics),
    deadLetter: deps.deadLetter,
  });
}
