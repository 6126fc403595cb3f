// In-memory stand-ins for amqplib's recovering connection, channel model and (confirm) channels,
// for unit tests of the AMQP transport. By default a channel is driven by hand (the test acks,
// returns, shuts). With `socket` set it behaves like amqplib over a socket: publish() returns
// false once ~1,024 frames wait unflushed (amqplib's per-channel write buffer), the "socket"
// flushes on a later turn and emits 'drain', the broker routes what it received in that order
// and confirms on a later turn still; publishing to an exchange the broker lacks closes the
// channel (404) and the broker drops whatever the channel sent after it.
import { EventEmitter } from 'node:events';
import type { Options } from 'amqplib';

export interface Published {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
  cb: (err: unknown) => void;
}

/** amqplib's default per-channel write buffer: an object-mode stream with this high-water mark. */
export const CHANNEL_WRITE_HWM = 1024;

/** How the broker side of a socket-like channel behaves. */
export interface FakeBroker {
  exchanges: Set<string>;
  /** Everything the broker routed, in the order it received it (across channels). */
  received: Published[];
  /** Exchanges this user may not write to: publishing closes the channel with 403. */
  denied: Set<string>;
  /** RabbitMQ's max_message_size: a larger message closes the channel with 406. */
  maxMessageBytes?: number;
  /** Messages the broker nacks (not routed). */
  nack?: ((p: Published) => boolean) | undefined;
  /** Confirms of one flush in publish order, or last first (RabbitMQ does not promise their order). */
  confirmOrder?: 'in-order' | 'reversed';
}

export function fakeBroker(exchanges = ['zeek', 'amq.topic']): FakeBroker {
  return { exchanges: new Set(exchanges), received: [], denied: new Set() };
}

const later = (f: () => void): void => void setImmediate(f);

/** Stands in for an amqplib channel (confirm or not). */
export class FakeChannel extends EventEmitter {
  /** Published and not yet confirmed (hand-driven mode) or not yet flushed (socket mode). */
  readonly published: Published[] = [];
  /** Every publish call, in call order. */
  readonly calls: Published[] = [];
  /** What publish() returns, per call (hand-driven mode; default true). */
  writeResults: boolean[] = [];
  closed = false;
  private ended = false;
  readonly ops: string[] = [];
  private flushScheduled = false;
  private needDrain = false;
  private readonly unconfirmed: Array<Published & { nacked?: boolean }> = [];

  constructor(
    private readonly conn: FakeModel,
    /** Socket-like behaviour with this broker; hand-driven when undefined. */
    private readonly broker?: FakeBroker,
  ) {
    super();
  }

  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, cb: (err: unknown) => void): boolean {
    if (this.closed) throw new Error('Channel closed');
    const p = { exchange, routingKey, content, options, cb };
    this.calls.push(p);
    this.published.push(p);
    if (!this.broker) return this.writeResults.shift() ?? true;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      later(() => this.flush());
    }
    const ok = this.published.length < CHANNEL_WRITE_HWM;
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** The socket wrote what was buffered: the broker takes it in order, confirms come a turn later. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || !this.broker) return;
    const batch = this.published.splice(0);
    for (const p of batch) {
      if (p.exchange !== '' && !this.broker.exchanges.has(p.exchange)) {
        this.brokerClose(404, 'NOT_FOUND', `no exchange '${p.exchange}' in vhost '/'`);
        return;
      }
      if (this.broker.denied.has(p.exchange)) {
        this.brokerClose(403, 'ACCESS_REFUSED', `access to exchange '${p.exchange}' in vhost '/' refused for user 'guest'`);
        return;
      }
      if (p.content.length > (this.broker.maxMessageBytes ?? Infinity)) {
        this.brokerClose(406, 'PRECONDITION_FAILED', `message size ${p.content.length} is larger than configured max size ${this.broker.maxMessageBytes}`);
        return;
      }
      if (this.broker.nack?.(p)) {
        this.unconfirmed.push({ ...p, nacked: true });
        continue;
      }
      this.broker.received.push(p);
      this.unconfirmed.push(p);
    }
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
    later(() => {
      if (this.closed) return;
      const due = this.unconfirmed.splice(0);
      if (this.broker?.confirmOrder === 'reversed') due.reverse();
      for (const p of due) p.cb(p.nacked ? new Error('message nacked') : null);
    });
  }

  /** The broker closes the channel because of a publish, as RabbitMQ does (error, then close). */
  brokerClose(code: number, name: string, text: string): void {
    const err = Object.assign(new Error(`Channel closed by server: ${code} (${name.replace('_', '-')}) with message "${name} - ${text}"`), {
      code,
      classId: 60,
      methodId: 40,
    });
    this.emit('error', err);
    this.shut();
  }

  async assertExchange(name: string, type: string, opts: object): Promise<object> {
    this.ops.push(`exchange ${name} ${type} ${JSON.stringify(opts)}`);
    this.conn.exchanges.add(name);
    this.broker?.exchanges.add(name);
    return {};
  }
  async assertQueue(name: string, opts: object): Promise<object> {
    this.ops.push(`queue ${name} ${JSON.stringify(opts)}`);
    return {};
  }
  async bindQueue(q: string, x: string, key: string): Promise<object> {
    this.ops.push(`bind ${q} ${x} ${key}`);
    return {};
  }
  async checkExchange(name: string): Promise<object> {
    this.ops.push(`check ${name}`);
    if (this.broker ? this.broker.exchanges.has(name) : this.conn.exchanges.has(name)) return {};
    this.ended = this.closed = true; // a failed check closes its channel
    throw Object.assign(new Error(`NOT_FOUND - no exchange '${name}'`), { code: 404 });
  }
  async close(): Promise<void> {
    this.shut();
  }
  /** Acknowledges every unconfirmed publish, in order (hand-driven mode). */
  ackAll(): void {
    for (const p of this.published.splice(0)) p.cb(null);
  }
  returnMessage(p: Published): void {
    this.emit('return', {
      content: p.content,
      fields: { exchange: p.exchange, routingKey: p.routingKey, replyText: 'NO_ROUTE' },
      properties: { messageId: p.options.messageId },
    });
  }
  /** The channel closes (from either side): unconfirmed publishes fail, as amqplib does. */
  shut(): void {
    if (this.ended) return;
    this.ended = true;
    this.closed = true;
    const err = new Error('channel closed');
    for (const p of [...this.unconfirmed.splice(0), ...this.published.splice(0)]) p.cb(err);
    this.emit('close');
  }
}

/** Stands in for a connected amqplib ChannelModel. */
export class FakeModel extends EventEmitter {
  readonly channels: FakeChannel[] = [];
  readonly confirmChannels: FakeChannel[] = [];
  exchanges = new Set(['zeek', 'amq.topic']);
  constructor(readonly broker?: FakeBroker) {
    super();
  }
  async createChannel(): Promise<FakeChannel> {
    const ch = new FakeChannel(this, this.broker);
    this.channels.push(ch);
    return ch;
  }
  async createConfirmChannel(): Promise<FakeChannel> {
    const ch = new FakeChannel(this, this.broker);
    this.confirmChannels.push(ch);
    return ch;
  }
  get confirm(): FakeChannel {
    const ch = this.confirmChannels[this.confirmChannels.length - 1];
    if (!ch) throw new Error('no confirm channel');
    return ch;
  }
}

/** Stands in for amqplib's RecoveringChannelModel: the test decides when connects succeed. */
export class FakeRecovering extends EventEmitter {
  model: FakeModel | undefined;
  closed = false;
  constructor(
    readonly url: Options.Connect,
    readonly opts: { recovery: { setup: (m: never) => Promise<void> } } & Record<string, unknown>,
    private readonly broker?: FakeBroker,
  ) {
    super();
  }
  async connectNow(): Promise<FakeModel> {
    const m = new FakeModel(this.broker);
    await this.opts.recovery.setup(m as never);
    this.model = m;
    this.emit('connect', m);
    return m;
  }
  failConnect(err = new Error('ECONNREFUSED')): void {
    this.emit('connect-failed', err);
  }
  drop(err = new Error('CONNECTION_FORCED')): void {
    const m = this.model;
    this.model = undefined;
    for (const ch of m?.confirmChannels ?? []) ch.shut();
    this.emit('disconnect', err);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
