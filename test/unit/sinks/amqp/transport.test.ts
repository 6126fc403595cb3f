// AMQP transport logic against an in-memory stand-in for amqplib's recovering connection.
import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { AmqpTransport } from '../../../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions, type AmqpOptions } from '../../../../src/sinks/amqp/options.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { FakeRecovering, type FakeModel, type Published } from '../../../helpers/fake-amqp.js';
import { record, sleep, tick, until } from '../../../helpers/records.js';

function msg(payload: string, target = 'zeek', routingKey?: string, sender?: string): OutboundMessage {
  return { record: record('conn', payload, sender), payload: Buffer.from(payload), address: { target, routingKey } };
}

function options(over: Partial<AmqpOptions> = {}): AmqpOptions {
  return { ...defaultAmqpOptions(), ...over };
}

class Harness {
  readonly connections: FakeRecovering[] = [];
  readonly states: boolean[] = [];
  readonly transport: AmqpTransport;
  constructor(opts: AmqpOptions) {
    this.transport = new AmqpTransport(opts, { name: 'rabbit', logger: silentLogger() }, async (url, so) => {
      const c = new FakeRecovering(url, so as never);
      this.connections.push(c);
      return c as never;
    });
    this.transport.onStateChange = (up) => this.states.push(up);
  }
  get conn(): FakeRecovering {
    return this.connections[this.connections.length - 1] as FakeRecovering;
  }
  /** start() while the first attempt connects. */
  async startConnected(): Promise<FakeModel> {
    const started = this.transport.start();
    await until(() => this.connections.length > 0);
    const m = await this.conn.connectNow();
    await started;
    return m;
  }
}

describe('amqp transport', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness(options({ confirmTimeoutMs: 2000 }));
  });

  it('rejects at once while not connected', async () => {
    await assert.rejects(h.transport.send([msg('{}')]), /not connected/);
  });

  it('start() resolves after a failed first attempt and keeps the connection recovering', async () => {
    const started = h.transport.start();
    await until(() => h.connections.length > 0);
    h.conn.failConnect();
    await started;
    assert.equal(h.transport.isConnected(), false);
    await h.conn.connectNow();
    assert.equal(h.transport.isConnected(), true);
    assert.deepEqual(h.states, [true]);
  });

  it('start() throws with failFast when the broker is down', async () => {
    const f = new Harness(options({ failFast: true }));
    const started = f.transport.start();
    await until(() => f.connections.length > 0);
    assert.equal((f.conn.opts.recovery as { initialMaxRetries?: number }).initialMaxRetries, 0);
    f.conn.emit('reconnect-failed', new Error('ECONNREFUSED'));
    await assert.rejects(started, /cannot connect/);
  });

  it('publishes a batch pipelined and resolves when every confirm arrived', async () => {
    const m = await h.startConnected();
    const p = h.transport.send([msg('{"a":1}', 'zeek', 'conn', 'worker-1'), msg('{"a":2}', '', 'q')]);
    await until(() => m.confirm.published.length === 2);
    const [first, second] = m.confirm.published;
    assert.equal(first?.exchange, 'zeek');
    assert.equal(first?.routingKey, 'conn');
    assert.deepEqual(first?.options, {
      persistent: true,
      contentType: 'application/json',
      headers: { 'zeek-path': 'conn', 'zeek-sender': 'worker-1' },
      mandatory: false,
    });
    assert.deepEqual(second?.options.headers, { 'zeek-path': 'conn' });
    let settled = false;
    void p.then(() => (settled = true));
    first?.cb(null);
    await tick();
    assert.equal(settled, false, 'waits for the last confirm');
    second?.cb(null);
    assert.deepEqual(await p, {});
  });

  it('reports returned (unroutable) messages as rejected, matched by message id', async () => {
    const t = new Harness(options({ mandatory: true }));
    const m = await t.startConnected();
    const batch = [msg('a'), msg('b'), msg('c')];
    const p = t.transport.send(batch);
    await until(() => m.confirm.published.length === 3);
    const pubs = [...m.confirm.published];
    assert.equal(new Set(pubs.map((x) => x.options.messageId)).size, 3);
    m.confirm.returnMessage(pubs[1] as Published); // the broker returns before it confirms
    m.confirm.ackAll();
    const r = await p;
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.toString(), x.reason]),
      [['b', 'unroutable']],
    );
  });

  it('rejects the batch on a nack', async () => {
    const m = await h.startConnected();
    const p = h.transport.send([msg('a'), msg('b')]);
    await until(() => m.confirm.published.length === 2);
    m.confirm.published[0]?.cb(null);
    m.confirm.published[1]?.cb(new Error('message nacked'));
    await assert.rejects(p, /nacked/);
  });

  it('rejects promptly when the connection drops mid-batch, and works after recovery', async () => {
    const m = await h.startConnected();
    const p = h.transport.send([msg('a'), msg('b')]);
    await until(() => m.confirm.published.length === 2);
    h.conn.drop();
    await assert.rejects(p, /channel closed|connection lost/);
    assert.equal(h.transport.isConnected(), false);
    await assert.rejects(h.transport.send([msg('c')]), /not connected/);
    const m2 = await h.conn.connectNow();
    const q = h.transport.send([msg('c')]);
    await until(() => m2.confirm.published.length === 1);
    m2.confirm.ackAll();
    assert.deepEqual(await q, {});
    assert.deepEqual(h.states, [true, false, true]);
  });

  it('rejects after confirmTimeoutMs when confirms never come', async () => {
    const t = new Harness(options({ confirmTimeoutMs: 50 }));
    await t.startConnected();
    const started = Date.now();
    await assert.rejects(t.transport.send([msg('a')]), /did not confirm/);
    assert.ok(Date.now() - started < 1000);
  });

  it('waits for drain when the channel buffer is full', async () => {
    const m = await h.startConnected();
    m.confirm.writeResults = [false];
    const p = h.transport.send([msg('a'), msg('b')]);
    await until(() => m.confirm.published.length === 1);
    await sleep(20);
    assert.equal(m.confirm.published.length, 1, 'holds the rest until drain');
    m.confirm.emit('drain');
    await until(() => m.confirm.published.length === 2);
    m.confirm.ackAll();
    assert.deepEqual(await p, {});
  });

  it('times a batch from its turn to publish, not while it waits behind a parked batch', async () => {
    const t = new Harness(options({ confirmTimeoutMs: 400 }));
    const m = await t.startConnected();
    m.confirm.writeResults = [false]; // the first batch fills the channel buffer and parks the sequence
    const first = t.transport.send([msg('a'), msg('b')]);
    const second = t.transport.send([msg('c')]);
    await sleep(300);
    assert.equal(m.confirm.published.length, 1, 'parked until drain');
    m.confirm.emit('drain');
    await until(() => m.confirm.published.length === 3);
    for (const p of m.confirm.published.splice(0, 2)) p.cb(null); // the first batch
    await sleep(250); // 550 ms after send(), 250 ms after its turn began
    m.confirm.ackAll(); // the second
    assert.deepEqual(await first, {});
    assert.deepEqual(await second, {});
  });

  it('holds publishing while the broker blocks the connection', async () => {
    const m = await h.startConnected();
    h.conn.emit('blocked', 'low on memory');
    assert.equal(h.transport.isConnected(), false);
    const p = h.transport.send([msg('a')]);
    await sleep(20);
    assert.equal(m.confirm.published.length, 0);
    h.conn.emit('unblocked');
    assert.equal(h.transport.isConnected(), true);
    await until(() => m.confirm.published.length === 1);
    m.confirm.ackAll();
    assert.deepEqual(await p, {});
    assert.deepEqual(h.states, [true, false, true]);
  });

  it('refuses messages for a missing exchange without losing the channel', async () => {
    const m = await h.startConnected();
    const p = h.transport.send([msg('a', 'nope'), msg('b', 'zeek'), msg('c', 'nope')]);
    await until(() => m.confirm.published.length === 1);
    m.confirm.ackAll();
    const r = await p;
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.toString(), x.reason]),
      [
        ['a', 'no_exchange'],
        ['c', 'no_exchange'],
      ],
    );
    assert.equal(m.confirm.closed, false);
    // A known exchange is not checked again on this connection.
    const checks = m.channels.flatMap((c) => c.ops).filter((o) => o === 'check zeek').length;
    const q = h.transport.send([msg('d', 'zeek')]);
    await until(() => m.confirm.published.length === 1);
    m.confirm.ackAll();
    await q;
    assert.equal(m.channels.flatMap((c) => c.ops).filter((o) => o === 'check zeek').length, checks);
  });

  it('opens a new confirm channel when the broker closed the old one', async () => {
    const m = await h.startConnected();
    m.confirm.shut();
    const p = h.transport.send([msg('a')]);
    await until(() => m.confirmChannels.length === 2 && m.confirm.published.length === 1);
    m.confirm.ackAll();
    assert.deepEqual(await p, {});
  });

  it('declares the exchange, the queue and its binding on every (re)connect', async () => {
    const t = new Harness(
      options({
        declareExchange: { name: 'zeek', type: 'topic', durable: true },
        queue: { name: 'zeek-logs', durable: true, bindingKey: 'conn.#', exchange: '' },
      }),
    );
    const m = await t.startConnected();
    const expected = [
      'exchange zeek topic {"durable":true}',
      'queue zeek-logs {"durable":true}',
      'bind zeek-logs zeek conn.#',
    ];
    assert.deepEqual(m.channels[0]?.ops, expected);
    t.conn.drop();
    const m2 = await t.conn.connectNow();
    assert.deepEqual(m2.channels[0]?.ops, expected);
  });

  it('fails over to the next URL when recovery gives up on one', async () => {
    const t = new Harness(options({ url: ['amqp://a', 'amqp://b'] }));
    const started = t.transport.start();
    await until(() => t.connections.length === 1);
    t.conn.failConnect();
    await started;
    t.conn.emit('reconnect-failed', new Error('gave up'));
    await until(() => t.connections.length === 2);
    assert.equal(t.conn.url.hostname, 'b');
    await t.conn.connectNow();
    assert.equal(t.transport.isConnected(), true);
  });

  it('close() rejects pending sends and stops recovery', async () => {
    const m = await h.startConnected();
    const p = h.transport.send([msg('a')]);
    await until(() => m.confirm.published.length === 1);
    await h.transport.close();
    await assert.rejects(p, /closed/);
    assert.equal(h.conn.closed, true);
    await assert.rejects(h.transport.send([msg('b')]), /closed/);
  });
});
