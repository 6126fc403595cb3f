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
import { EvictingMap } from '../../util/bounded-cache.js';
import { ConfirmTracker } from './confirms.js';
import { publishRefusal, type PublishRefusal } from './refusals.js';
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
/** An exchange this user may not write to is not tried again for this long (each try costs the channel). */
const ACCESS_REFUSED_TTL_MS = 60_000;
/**
 * Exchanges remembered as checked (or refused) at most: exchange names can come from log paths,
 * so hostile paths could grow the caches without a bound; one forgotten is only checked again.
 */
export const MAX_CACHED_EXCHANGES = 4096;

export function createAmqpTransport(options: AmqpOptions, ctx: TransportContext): Transport {
  return new AmqpTransport(options, ctx);
}

/**
 * Publishes batches pipelined on one confirm channel and resolves when the broker
 * confirmed every message. Publishing is one sequence: each batch is written whole, in
 * send() order, and only the waiting for confirms overlaps; batches also settle in that
 * order, so a failed batch is never overtaken by a later one. Reconnection is amqplib's
 * own recovery; the declarations run in its setup hook, so they are redone after every
 * reconnect.
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
  /** Exchanges that exist (checked or declared), as keys. */
  private readonly knownExchanges = new EvictingMap<string, true>(MAX_CACHED_EXCHANGES);
  /** Exchanges whose messages are refused until a time: missing (no_exchange) or not writable (access_refused). */
  private readonly refusedExchanges = new EvictingMap<string, { until: number; reason: string }>(MAX_CACHED_EXCHANGES);
  /** The broker's max_message_size, once a 406 told it: larger messages are refused (message_too_large). */
  private maxMessageBytes = Infinity;
  /** The publishing sequence: each batch's turn is chained here synchronously in send(). */
  private sequence: Promise<void> = Promise.resolve();
  /** Whether every batch sent so far was delivered; each send() settles after the one before it. */
  private lastOutcome: Promise<boolean> = Promise.resolve(true);
  private pendingSends = 0;
  /** A batch of the pending ones failed: the batches behind it fail without publishing. */
  private runFailed = false;
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
    this.pendingSends++;
    // Joined before any await: batches are written whole, one after another, in send() order.
    const turn = this.sequence.then(() => this.publishTurn(batch, tracker));
    this.sequence = turn.catch(() => {});
    // A batch counts as delivered only after every earlier one was: if one fails, the later
    // ones fail too, so the sink sends them all again in order (confirms may come in any order).
    const earlier = this.lastOutcome;
    let settle!: (delivered: boolean) => void;
    this.lastOutcome = new Promise<boolean>((resolve) => (settle = resolve));
    try {
      await turn;
      const result = await tracker.done;
      if (!(await earlier)) throw new Error('AMQP: an earlier batch failed; this one goes again after it');
      settle(true);
      return result;
    } catch (err) {
      tracker.fail(err as Error);
      this.runFailed = true;
      settle(false);
      throw err;
    } finally {
      this.trackers.delete(tracker);
      for (const id of tracker.ids) this.returns.delete(id);
      // Nothing pending: the next send starts a new run (a failed batch comes back as a retry).
      if (--this.pendingSends === 0) {
        this.lastOutcome = Promise.resolve(true);
        this.runFailed = false;
      }
    }
  }

  /** One batch's turn in the publishing sequence. */
  private async publishTurn(batch: readonly OutboundMessage[], tracker: ConfirmTracker<ConfirmChannel>): Promise<void> {
    tracker.check(); // it may have failed while earlier batches were publishing
    if (this.runFailed) throw new Error('AMQP: an earlier batch failed; this one goes again after it');
    tracker.arm();
    const ch = await tracker.race(this.openChannel());
    tracker.channel = ch;
    const refused = await tracker.race(this.refusedTargets(batch));
    await this.publishAll(ch, batch, tracker, refused);
  }

  private async publishAll(
    ch: ConfirmChannel,
    batch: readonly OutboundMessage[],
    tracker: ConfirmTracker<ConfirmChannel>,
    refused: Map<string, string>,
  ): Promise<void> {
    const { persistent, mandatory } = this.options;
    // NDJSON messages (built by the NdjsonTransport around this one) say so in their content type.
    const contentType = this.options.recordsPerMessage > 1 ? 'application/x-ndjson' : this.options.contentType || undefined;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as OutboundMessage;
      const reason = refused.get(m.address.target) ?? (m.payload.length > this.maxMessageBytes ? 'message_too_large' : undefined);
      if (reason !== undefined) {
        tracker.refuse(i, reason);
        continue;
      }
      // Checked before every publish: the channel's write buffer or the broker may park the sequence.
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
    ch.on('error', (err: Error) => {
      const refusal = publishRefusal(err as Error & { code?: unknown });
      if (refusal) this.onPublishRefused(refusal);
      else this.limited.warn('channel-error', { err: err.message }, 'AMQP channel error');
    });
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

  /**
   * The broker closed the channel over a publish. Its batches fail and come back (the sink
   * retries them in order); what the refusal names is settled here so that the retry refuses
   * only the records concerned, per record, instead of closing the channel again and again.
   */
  private onPublishRefused(r: PublishRefusal): void {
    const x = r.exchange;
    if (r.code === 404 && x !== undefined) {
      // Deleted while we ran: checked again before the next publish (and declared again if it is ours).
      this.knownExchanges.delete(x);
      this.refusedExchanges.delete(x);
      this.limited.error(`gone:${x}`, { exchange: x, reply: r.text }, 'AMQP exchange disappeared; checking it again before publishing to it');
    } else if (r.code === 403 && x !== undefined) {
      this.knownExchanges.delete(x);
      this.refusedExchanges.set(x, { until: Date.now() + ACCESS_REFUSED_TTL_MS, reason: 'access_refused' });
      this.limited.error(`refused:${x}`, { exchange: x, reply: r.text }, 'AMQP broker refuses publishing to this exchange; its messages are refused');
    } else if (r.code === 406 && r.maxMessageBytes !== undefined) {
      this.maxMessageBytes = r.maxMessageBytes;
      this.limited.error('too-large', { maxBytes: r.maxMessageBytes, reply: r.text }, 'AMQP broker refuses messages this large; they are refused');
    } else {
      this.limited.error(`refusal:${r.code}`, { reply: r.text }, 'AMQP broker closed the channel over a publish; the batch is retried');
    }
  }

  /** Exchanges of the batch whose messages are refused (missing, not writable), with the reason. */
  private async refusedTargets(batch: readonly OutboundMessage[]): Promise<Map<string, string>> {
    const refused = new Map<string, string>();
    let unknown: Set<string> | undefined;
    const now = Date.now();
    for (const m of batch) {
      const x = m.address.target;
      if (x === '' || this.knownExchanges.has(x) || refused.has(x)) continue;
      const r = this.refusedExchanges.get(x);
      if (r !== undefined && r.until > now) refused.set(x, r.reason);
      else (unknown ??= new Set()).add(x);
    }
    if (unknown && this.model) {
      for (const x of unknown) if (!(await this.exchangeExists(this.model, x))) refused.set(x, 'no_exchange');
    }
    return refused;
  }

  /** Whether the exchange exists; the one this transport declares is declared again (with its queue) instead. */
  private async exchangeExists(model: ChannelModel, name: string): Promise<boolean> {
    if (name === this.options.declareExchange.name) {
      await this.declareTopology(model);
      this.log.warn({ exchange: name }, 'AMQP declared its exchange (and queue) again');
      if (this.model === model) this.knownExchanges.set(name, true);
      return true;
    }
    // A failed check closes its channel, so it gets a throwaway one.
    const ch = await model.createChannel();
    ch.on('error', () => {});
    try {
      await ch.checkExchange(name);
      if (this.model === model) this.knownExchanges.set(name, true);
      this.refusedExchanges.delete(name);
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      this.refusedExchanges.set(name, { until: Date.now() + MISSING_EXCHANGE_TTL_MS, reason: 'no_exchange' });
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
      if (this.options.declareExchange.name) this.knownExchanges.set(this.options.declareExchange.name, true);
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
    await this.declareTopology(model);
    const confirm = await model.createConfirmChannel();
    this.attachChannel(confirm);
  }

  /** Declares the configured exchange, queue and binding (each optional). */
  private async declareTopology(model: ChannelModel): Promise<void> {
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
  }
}
