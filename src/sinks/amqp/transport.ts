// RabbitMQ transport: a confirm channel on a self-recovering amqplib connection.
import amqplib from 'amqplib';
import type {
  Channel,
  ChannelModel,
  ConfirmChannel,
  Message,
  Options,
  RecoveringChannelModel,
  RecoveryOptions,
  SocketOptions,
} from 'amqplib';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import { ConfirmTracker } from './confirms.js';
import { amqpTargets, type AmqpOptions, type AmqpTarget } from './options.js';
import { messageHeaders } from '../shared/headers.js';
import type { OutboundMessage } from '../../record.js';
import { loadTls, type TransportContext } from '../shared/transport-options.js';
import type { SendResult, Transport } from '../transport.js';

type ConnectFn = (
  url: Options.Connect,
  socketOptions: SocketOptions & { recovery: RecoveryOptions },
) => Promise<RecoveringChannelModel>;

const defaultConnect: ConnectFn = (url, socketOptions) => amqplib.connect(url, socketOptions);

/** Exchanges that were found missing are not checked again for this long (their messages are refused meanwhile). */
const MISSING_EXCHANGE_TTL_MS = 5_000;

export function createAmqpTransport(options: AmqpOptions, ctx: TransportContext): Transport {
  return new AmqpTransport(options, ctx);
}

/**
 * Publishes batches pipelined on one confirm channel and resolves when the broker
 * confirmed every message. Reconnection is amqplib's own recovery; the declarations run
 * in its setup hook, so they are redone after every reconnect.
 */
export class AmqpTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;

  private readonly log: Logger;
  private readonly limited: RateLimitedLog;
  private readonly targets: AmqpTarget[];
  private readonly socketOptions: SocketOptions;
  private targetIndex = 0;
  /** Counts recovering connections (one per failover), so events of an abandoned one are ignored. */
  private generation = 0;
  private recovering: RecoveringChannelModel | undefined;
  private model: ChannelModel | undefined;
  private channel: ConfirmChannel | undefined;
  private channelOpening: Promise<ConfirmChannel> | undefined;
  private connected = false;
  private blocked = false;
  private closing = false;
  private everConnected = false;
  private needDrain = false;
  private writableWaiters: Array<() => void> = [];
  private readonly trackers = new Set<ConfirmTracker<ConfirmChannel>>();
  /** messageId → where a returned message belongs: its batch and index. */
  private readonly returns = new Map<string, { tracker: ConfirmTracker<ConfirmChannel>; index: number }>();
  private readonly idPrefix = randomBytes(6).toString('hex') + '.';
  private idSeq = 0;
  private readonly knownExchanges = new Set<string>();
  private readonly missingExchanges = new Map<string, number>();
  private firstOutcome: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly options: AmqpOptions,
    ctx: TransportContext,
    private readonly connectFn: ConnectFn = defaultConnect,
  ) {
    this.log = ctx.logger.child({ sink: ctx.name, transport: 'amqp' });
    this.limited = new RateLimitedLog(this.log);
    this.targets = amqpTargets(options);
    const tls: ConnectionOptions = this.targets.some((t) => t.connect.protocol === 'amqps') ? loadTls(options.tls) : {};
    this.socketOptions = {
      ...tls,
      timeout: options.connectTimeoutMs || undefined,
      noDelay: true,
      keepAlive: true,
      clientProperties: { connection_name: `zeek-log-gateway:${ctx.name}` },
    };
  }

  isConnected(): boolean {
    return this.connected && !this.blocked;
  }

  async start(): Promise<void> {
    // Wait for the first attempt's outcome only, so the log says whether we are up;
    // with failFast a failure is fatal, otherwise recovery keeps trying.
    const first = new Promise<void>((resolve, reject) => (this.firstOutcome = { resolve, reject }));
    await this.open();
    try {
      await first;
    } catch (err) {
      if (this.options.failFast) {
        await this.close();
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.settleFirst(); // a start() still waiting for the first attempt returns
    this.failAll(new Error('AMQP transport closed'));
    this.setState(false);
    const r = this.recovering;
    this.recovering = undefined;
    if (r) await r.close().catch(() => {});
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    if (this.closing) throw new Error('AMQP transport closed');
    if (!this.connected || !this.model) throw new Error('AMQP: not connected to the broker');
    if (batch.length === 0) return {};
    const tracker = new ConfirmTracker<ConfirmChannel>(batch, this.options.confirmTimeoutMs);
    this.trackers.add(tracker);
    try {
      const ch = await tracker.race(this.openChannel());
      tracker.channel = ch;
      const missing = await tracker.race(this.missingTargets(batch));
      await this.publishAll(ch, batch, tracker, missing);
      return await tracker.done;
    } catch (err) {
      tracker.fail(err as Error);
      throw err;
    } finally {
      this.trackers.delete(tracker);
      for (const id of tracker.ids) this.returns.delete(id);
    }
  }

  private async publishAll(
    ch: ConfirmChannel,
    batch: readonly OutboundMessage[],
    tracker: ConfirmTracker<ConfirmChannel>,
    missing: Set<string>,
  ): Promise<void> {
    const { persistent, mandatory } = this.options;
    // NDJSON messages (built by the NdjsonTransport around this one) say so in their content type.
    const contentType = this.options.recordsPerMessage > 1 ? 'application/x-ndjson' : this.options.contentType || undefined;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as OutboundMessage;
      if (missing.has(m.address.target)) {
        tracker.refuse(i, 'no_exchange');
        continue;
      }
      if (this.blocked || this.needDrain) await tracker.race(this.writable());
      tracker.check();
      const props: Options.Publish = { persistent, contentType, headers: messageHeaders(m), mandatory };
      if (mandatory) {
        // Returns carry no delivery tag: a per-publish message id is what ties them to the batch.
        const id = this.idPrefix + (this.idSeq++).toString(36);
        props.messageId = id;
        this.returns.set(id, { tracker, index: i });
        tracker.ids.push(id);
      }
      tracker.published();
      const ok = ch.publish(m.address.target, m.address.routingKey ?? '', m.payload, props, (err) => tracker.confirm(err));
      if (!ok) this.needDrain = true;
    }
    tracker.publishingDone();
  }

  /**
   * amqplib's muxer writes every frame to the socket on its own, one syscall each. Corking
   * the socket while the muxer runs turns a batch into a few writev calls of up to the
   * socket's high-water mark each. Patched per connection and only if amqplib still has
   * the muxer method; otherwise everything works as before, only with more syscalls.
   */
  private static corkMuxer(model: ChannelModel): void {
    const conn = model.connection as unknown as { stream?: Writable; muxer?: { _readIncoming?: () => void } } | undefined;
    const socket = conn?.stream;
    const muxer = conn?.muxer;
    const readIncoming = muxer?._readIncoming;
    if (!socket || !muxer || typeof readIncoming !== 'function' || typeof socket.cork !== 'function') return;
    muxer._readIncoming = function corkedReadIncoming(this: unknown) {
      socket.cork();
      try {
        readIncoming.call(this);
      } finally {
        socket.uncork();
      }
    };
  }

  /** Resolves once the channel buffer drained and the broker does not block us. */
  private async writable(): Promise<void> {
    while (this.blocked || this.needDrain) {
      await new Promise<void>((resolve) => this.writableWaiters.push(resolve));
    }
  }

  private wakeWriters(): void {
    const w = this.writableWaiters;
    this.writableWaiters = [];
    for (const f of w) f();
  }

  private async openChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    const model = this.model;
    if (!model) throw new Error('AMQP: not connected to the broker');
    // Concurrent sends share one channel creation.
    this.channelOpening ??= model.createConfirmChannel().then(
      (ch) => {
        this.channelOpening = undefined;
        if (this.model !== model) {
          ch.close().catch(() => {});
          throw new Error('AMQP: connection lost while opening a channel');
        }
        this.attachChannel(ch);
        return ch;
      },
      (err: Error) => {
        this.channelOpening = undefined;
        throw new Error(`AMQP: cannot open a channel: ${err.message}`);
      },
    );
    return this.channelOpening;
  }

  private attachChannel(ch: ConfirmChannel): void {
    this.channel = ch;
    this.needDrain = false;
    ch.on('return', (msg: Message) => this.onReturn(msg));
    ch.on('drain', () => {
      this.needDrain = false;
      this.wakeWriters();
    });
    ch.on('error', (err: Error) => this.limited.warn('channel-error', { err: err.message }, 'AMQP channel error'));
    ch.on('handler-error', (err: Error, event: string) =>
      this.log.error({ err: err.message, event }, 'AMQP channel listener threw'),
    );
    ch.on('close', () => {
      if (this.channel === ch) {
        this.channel = undefined;
        this.needDrain = false;
      }
      this.failAll(new Error('AMQP: channel closed'), ch);
    });
  }

  private onReturn(msg: Message): void {
    const id = msg.properties.messageId as string | undefined;
    const entry = id === undefined ? undefined : this.returns.get(id);
    if (!entry) return;
    const fields = msg.fields as Message['fields'] & { replyText?: string };
    this.limited.warn(
      `return:${fields.exchange}`,
      { exchange: fields.exchange, routingKey: fields.routingKey, reply: fields.replyText },
      'AMQP broker returned an unroutable message',
    );
    entry.tracker.markReturned(entry.index);
  }

  /** Exchanges of the batch that do not exist: publishing to one would close the channel. */
  private async missingTargets(batch: readonly OutboundMessage[]): Promise<Set<string>> {
    const missing = new Set<string>();
    let unknown: Set<string> | undefined;
    for (const m of batch) {
      const x = m.address.target;
      if (x === '' || this.knownExchanges.has(x) || missing.has(x)) continue;
      const until = this.missingExchanges.get(x);
      if (until !== undefined && until > Date.now()) missing.add(x);
      else (unknown ??= new Set()).add(x);
    }
    if (unknown && this.model) {
      for (const x of unknown) if (!(await this.exchangeExists(this.model, x))) missing.add(x);
    }
    return missing;
  }

  private async exchangeExists(model: ChannelModel, name: string): Promise<boolean> {
    // A failed check closes its channel, so it gets a throwaway one.
    const ch = await model.createChannel();
    ch.on('error', () => {});
    try {
      await ch.checkExchange(name);
      if (this.model === model) this.knownExchanges.add(name);
      this.missingExchanges.delete(name);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      this.missingExchanges.set(name, Date.now() + MISSING_EXCHANGE_TTL_MS);
      this.limited.error(`no-exchange:${name}`, { exchange: name }, 'AMQP exchange does not exist; its messages are refused');
      return false;
    } finally {
      ch.close().catch(() => {});
    }
  }

  private failAll(err: Error, onlyChannel?: ConfirmChannel): void {
    for (const t of this.trackers) {
      if (onlyChannel === undefined || t.channel === onlyChannel || t.channel === undefined) t.fail(err);
    }
    this.wakeWriters();
  }

  private setState(up: boolean): void {
    const before = this.isConnected();
    this.connected = up;
    if (this.isConnected() !== before) this.onStateChange?.(this.isConnected());
  }

  private setBlocked(blocked: boolean): void {
    const before = this.isConnected();
    this.blocked = blocked;
    if (!blocked) this.wakeWriters();
    if (this.isConnected() !== before) this.onStateChange?.(this.isConnected());
  }

  /** Connects (with recovery) to the current target; fails over to the next when recovery gives up. */
  private async open(): Promise<void> {
    const t = this.targets[this.targetIndex] as AmqpTarget;
    const gen = ++this.generation;
    const multi = this.targets.length > 1;
    const r = this.options.reconnect;
    const retries = multi ? Math.max(1, r.failoverAfterAttempts) : Infinity;
    const recovering = await this.connectFn(t.connect, {
      ...this.socketOptions,
      recovery: {
        initialDelay: r.initialDelayMs,
        maxDelay: Math.max(r.initialDelayMs, r.maxDelayMs),
        maxRetries: retries,
        // failFast: the first attempt on each URL decides (no retries before the first connection).
        initialMaxRetries: this.options.failFast && !this.everConnected ? 0 : retries,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.recovering = recovering;
    const current = () => gen === this.generation && !this.closing;
    recovering.on('connect', (model: ChannelModel) => {
      if (!current()) return;
      this.everConnected = true;
      this.model = model;
      AmqpTransport.corkMuxer(model);
      this.knownExchanges.clear();
      if (this.options.declareExchange.name) this.knownExchanges.add(this.options.declareExchange.name);
      this.log.info({ broker: t.label }, 'AMQP connected');
      this.setState(true);
      this.settleFirst();
    });
    recovering.on('disconnect', (err: Error) => {
      if (!current()) return;
      this.model = undefined;
      this.channel = undefined;
      this.channelOpening = undefined;
      this.log.warn({ broker: t.label, err: err.message }, 'AMQP connection lost; reconnecting');
      this.failAll(new Error(`AMQP: connection lost: ${err.message}`));
      this.blocked = false;
      this.setState(false);
    });
    recovering.on('connect-failed', (err: Error) => {
      if (!current()) return;
      this.limited.error(
        `connect-failed:${t.label}`,
        { broker: t.label, err: err.message },
        'AMQP cannot connect (or declare); retrying',
      );
      if (!this.options.failFast) this.settleFirst();
    });
    recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => {
      if (current()) this.log.debug({ broker: t.label, ...info }, 'AMQP reconnect scheduled');
    });
    recovering.on('reconnect-failed', (err: Error) => {
      if (!current()) return;
      recovering.close().catch(() => {});
      this.failover(err);
    });
    recovering.on('blocked', (reason: string) => {
      if (!current()) return;
      this.log.warn({ broker: t.label, reason }, 'AMQP broker blocked publishing (resource alarm); holding');
      this.setBlocked(true);
    });
    recovering.on('unblocked', () => {
      if (!current()) return;
      this.log.info({ broker: t.label }, 'AMQP broker unblocked publishing');
      this.setBlocked(false);
    });
    recovering.on('error', (err: Error) => {
      if (current()) this.limited.warn('connection-error', { broker: t.label, err: err.message }, 'AMQP connection error');
    });
    recovering.on('handler-error', (err: Error, event: string) =>
      this.log.error({ err: err.message, event }, 'AMQP connection listener threw'),
    );
  }

  private failover(err: Error): void {
    const wrapped = this.targetIndex === this.targets.length - 1;
    if (this.options.failFast && !this.everConnected && wrapped) {
      // Every URL was tried once: startup fails.
      const outcome = this.firstOutcome;
      this.firstOutcome = undefined;
      outcome?.reject(new Error(`AMQP: cannot connect to any broker: ${err.message}`));
      return;
    }
    this.targetIndex = (this.targetIndex + 1) % this.targets.length;
    const next = this.targets[this.targetIndex] as AmqpTarget;
    this.log.warn({ broker: next.label, err: err.message }, 'AMQP failing over to the next broker');
    this.open().catch((e: Error) => this.log.error({ err: e.message }, 'AMQP cannot start connecting'));
  }

  private settleFirst(): void {
    const outcome = this.firstOutcome;
    this.firstOutcome = undefined;
    outcome?.resolve();
  }

  /** Runs after every (re)connect, before it counts as connected. A failure here is retried like a failed connect. */
  private async setup(model: ChannelModel): Promise<void> {
    const { declareExchange: x, queue: q } = this.options;
    if (x.name || q.name) {
      const ch: Channel = await model.createChannel();
      ch.on('error', () => {}); // the failing operation rejects with the same error
      try {
        if (x.name) await ch.assertExchange(x.name, x.type, { durable: x.durable });
        if (q.name) {
          await ch.assertQueue(q.name, { durable: q.durable });
          const exchange = q.exchange || x.name;
          if (exchange) await ch.bindQueue(q.name, exchange, q.bindingKey);
        }
      } finally {
        await ch.close().catch(() => {});
      }
    }
    const confirm = await model.createConfirmChannel();
    this.attachChannel(confirm);
  }
}
