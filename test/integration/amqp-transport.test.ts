// The AMQP transport against the local RabbitMQ (bash scripts/brokers.sh up). Never skips.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import net from 'node:net';
import { AmqpTransport } from '../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions, type AmqpOptions } from '../../src/sinks/amqp/options.js';
import type { OutboundMessage } from '../../src/record.js';
import { withNdjson } from '../../src/sinks/shared/ndjson.js';
import type { Transport } from '../../src/sinks/transport.js';
import { silentLogger } from '../../src/ops/log.js';
import {
  AMQP_URL,
  AMQPS_URL,
  CA_FILE,
  CLIENT_CERT_FILE,
  CLIENT_KEY_FILE,
  collectAmqp,
  declareTestQueue,
  rabbitCloseConnections,
  rabbitStartApp,
  rabbitStopApp,
  requireRabbitMQ,
  uniqueName,
} from '../helpers/brokers.js';
import { record, until } from '../helpers/records.js';

function msg(payload: string, exchange: string, routingKey: string, path = 'conn', sender?: string): OutboundMessage {
  return { record: record(path, payload, sender), payload: Buffer.from(payload), address: { target: exchange, routingKey } };
}

function options(over: Partial<AmqpOptions> = {}): AmqpOptions {
  const d = defaultAmqpOptions();
  return {
    ...d,
    url: AMQP_URL,
    confirmTimeoutMs: 5000,
    connectTimeoutMs: 3000,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000, failoverAfterAttempts: 3 },
    ...over,
  };
}

const open: Transport[] = [];

async function started(over: Partial<AmqpOptions> = {}): Promise<{ t: Transport; states: boolean[] }> {
  const o = options(over);
  // As the sink registry builds it: NDJSON mode wraps the AMQP transport.
  const t = withNdjson(new AmqpTransport(o, { name: 'it-amqp', logger: silentLogger() }), o.recordsPerMessage);
  const states: boolean[] = [];
  t.onStateChange = (up) => states.push(up);
  open.push(t);
  await t.start();
  await until(() => t.isConnected(), 10_000, 'AMQP transport connected');
  return { t, states };
}

/** Removes what a test declared (best effort). */
async function cleanup(queues: string[], exchanges: string[]): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    for (const q of queues) {
      const ch = await conn.createChannel();
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of exchanges) {
      const ch = await conn.createChannel();
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close();
  }
}

describe('AMQP transport against RabbitMQ', () => {
  before(async () => {
    await requireRabbitMQ();
  });
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
  });

  it('publishes a batch that is consumed with its properties and headers', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, 'zeek.#');
    const { t } = await started();
    const batch = [
      msg('{"conn":{"uid":"C1"}}', exchange, 'zeek.conn', 'conn', 'worker-1'),
      msg('{"dns":{"uid":"C2"}}', exchange, 'zeek.dns', 'dns'),
      msg('{"http":{"uid":"C3"}}', exchange, 'zeek.http', 'http', 'worker-2'),
    ];
    assert.deepEqual(await t.send(batch), {});
    const got = await collectAmqp(queue, { count: 3 });
    assert.deepEqual(
      got.map((m) => [m.content.toString(), m.routingKey, m.headers['zeek-path'], m.headers['zeek-sender']]),
      [
        ['{"conn":{"uid":"C1"}}', 'zeek.conn', 'conn', 'worker-1'],
        ['{"dns":{"uid":"C2"}}', 'zeek.dns', 'dns', undefined],
        ['{"http":{"uid":"C3"}}', 'zeek.http', 'http', 'worker-2'],
      ],
    );
    for (const m of got) {
      assert.equal(m.properties.contentType, 'application/json');
      assert.equal(m.properties.deliveryMode, 2, 'persistent');
    }
    await cleanup([queue], [exchange]);
  });

  it('publishes a large batch pipelined under one confirm window', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, '#');
    const { t } = await started();
    const batch = Array.from({ length: 5000 }, (_, i) => msg(`{"n":${i}}`, exchange, 'bulk'));
    assert.deepEqual(await t.send(batch), {});
    const got = await collectAmqp(queue, { count: 5000, timeoutMs: 20_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      batch.map((m) => m.payload.toString()),
    );
    await cleanup([queue], [exchange]);
  });

  it('sends a batch in few socket writes (the muxer is corked), in order', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, '#');
    const { t } = await started();
    // Count what reaches the kernel: one _write per uncorked write, one _writev per corked group.
    const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
    const { _write: write, _writev: writev } = proto;
    let calls = 0;
    proto._write = function (this: unknown, ...a: unknown[]) {
      calls++;
      return write.apply(this, a);
    };
    proto._writev = function (this: unknown, ...a: unknown[]) {
      calls++;
      return writev.apply(this, a);
    };
    const batch = Array.from({ length: 2000 }, (_, i) => msg(JSON.stringify({ conn: { n: i, pad: 'z'.repeat(300) } }), exchange, 'conn'));
    try {
      assert.deepEqual(await t.send(batch), {});
    } finally {
      proto._write = write;
      proto._writev = writev;
    }
    // 2,000 messages of ~400 bytes: about 55 writes of 16 KiB; uncorked it would be 2,000.
    assert.ok(calls < 200, `${calls} socket writes for 2,000 messages`);
    const got = await collectAmqp(queue, { count: 2000, timeoutMs: 20_000 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      batch.map((m) => m.payload.toString()),
    );
    await cleanup([queue], [exchange]);
  });

  it('declares its exchange and queue with the binding, and redeclares them after a reconnect', async () => {
    const exchange = uniqueName('decl-x');
    const queue = uniqueName('decl-q');
    const { t, states } = await started({
      declareExchange: { name: exchange, type: 'direct', durable: true },
      queue: { name: queue, durable: true, bindingKey: 'conn', exchange: '' },
    });
    assert.deepEqual(await t.send([msg('{"a":1}', exchange, 'conn'), msg('{"b":2}', exchange, 'other')]), {});
    const got = await collectAmqp(queue, { count: 1 });
    assert.equal(got[0]?.content.toString(), '{"a":1}');
    assert.equal((await collectAmqp(queue, { timeoutMs: 300 })).length, 0, 'direct binding: only "conn"');

    // Remove the topology behind the transport's back, then force a reconnect: setup must recreate it.
    await cleanup([queue], [exchange]);
    const downs = states.filter((s) => !s).length;
    await rabbitCloseConnections();
    await until(() => states.filter((s) => !s).length > downs && t.isConnected(), 15_000, 'reconnected');
    assert.deepEqual(await t.send([msg('{"c":3}', exchange, 'conn')]), {});
    const again = await collectAmqp(queue, { count: 1 });
    assert.equal(again[0]?.content.toString(), '{"c":3}');
    await cleanup([queue], [exchange]);
  });

  it('with mandatory, reports unroutable messages as rejected and delivers the rest', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, 'bound');
    const { t } = await started({ mandatory: true });
    const batch = [
      msg('{"n":1}', exchange, 'bound'),
      msg('{"n":2}', exchange, 'nowhere'),
      msg('{"n":3}', exchange, 'bound'),
      msg('{"n":4}', uniqueName('missing'), 'bound'),
    ];
    const r = await t.send(batch);
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.toString(), x.reason]).sort(),
      [
        ['{"n":2}', 'unroutable'],
        ['{"n":4}', 'no_exchange'],
      ],
    );
    const got = await collectAmqp(queue, { count: 2 });
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      ['{"n":1}', '{"n":3}'],
    );
    // The publishing channel survived the missing exchange.
    assert.deepEqual(await t.send([msg('{"n":5}', exchange, 'bound')]), {});
    await collectAmqp(queue, { count: 1 });
    await cleanup([queue], [exchange]);
  });

  it('NDJSON mode (recordsPerMessage): groups a batch per address, path and sender, each in order; returns and newlines refuse only their records', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, 'conn');
    const { t } = await started({ recordsPerMessage: 100, mandatory: true });
    const conn = (n: number, sender?: string) => msg(`{"conn":{"n":${n}}}`, exchange, 'conn', 'conn', sender);
    const batch = [
      ...Array.from({ length: 250 }, (_, i) => conn(i)),
      conn(250, 'worker-2'), // another sender: a message of its own
      msg('{"dns":{"n":1}}', exchange, 'nowhere', 'dns'), // unroutable: one message, both returned
      msg('{"dns":{"n":2}}', exchange, 'nowhere', 'dns'),
      conn(251), // joins the third conn message despite the records between
      msg('{"conn":\n{"n":252}}', exchange, 'conn'), // a raw newline cannot be a line of its own
      conn(253),
    ];
    const r = await t.send(batch);
    assert.deepEqual(
      r.rejected?.map((x) => [x.message.payload.toString(), x.reason]).sort(),
      [
        ['{"conn":\n{"n":252}}', 'newline_in_record'],
        ['{"dns":{"n":1}}', 'unroutable'],
        ['{"dns":{"n":2}}', 'unroutable'],
      ],
    );
    const got = await collectAmqp(queue, { count: 4 });
    assert.deepEqual(
      got.map((m) => [m.properties.contentType, m.headers['zeek-records'], m.headers['zeek-sender'] ?? null]),
      [
        ['application/x-ndjson', '100', null],
        ['application/x-ndjson', '100', null],
        ['application/x-ndjson', '52', null],
        ['application/x-ndjson', '1', 'worker-2'],
      ],
    );
    const lines = got.flatMap((m) => {
      const text = m.content.toString();
      assert.ok(text.endsWith('\n'), 'every line ends with a newline');
      return text.slice(0, -1).split('\n');
    });
    const n = (i: number) => `{"conn":{"n":${i}}}`;
    assert.deepEqual(lines, [...Array.from({ length: 250 }, (_, i) => n(i)), n(251), n(253), n(250)]);
    await cleanup([queue], [exchange]);
  });

  it('connects over TLS (amqps) with the test CA and a client certificate', async () => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, '#');
    const d = defaultAmqpOptions();
    const { t } = await started({
      url: AMQPS_URL,
      tls: { ...d.tls, caFile: CA_FILE, certFile: CLIENT_CERT_FILE, keyFile: CLIENT_KEY_FILE },
    });
    assert.deepEqual(await t.send([msg('{"tls":true}', exchange, 'k')]), {});
    const got = await collectAmqp(queue, { count: 1 });
    assert.equal(got[0]?.content.toString(), '{"tls":true}');
    await cleanup([queue], [exchange]);
  });

  it('start() does not throw while the broker is unreachable, unless failFast', async () => {
    const t = new AmqpTransport(options({ url: 'amqp://guest:guest@127.0.0.1:1' }), { name: 'it-down', logger: silentLogger() });
    open.push(t);
    await t.start();
    assert.equal(t.isConnected(), false);
    await assert.rejects(t.send([msg('{}', '', 'q')]), /not connected/);
    const strict = new AmqpTransport(options({ url: 'amqp://guest:guest@127.0.0.1:1', failFast: true }), {
      name: 'it-down-strict',
      logger: silentLogger(),
    });
    await assert.rejects(strict.start(), /cannot connect/);
  });

  it('rejects (never hangs) while RabbitMQ is stopped, and publishes again after it restarted', async (ctx) => {
    const exchange = uniqueName('x');
    const queue = await declareTestQueue(exchange, '#', { durable: true });
    const { t, states } = await started({ confirmTimeoutMs: 5000 });
    try {
      // A big batch in flight when the broker goes away settles either way, and soon.
      const inFlight = t.send(Array.from({ length: 20_000 }, (_, i) => msg(`{"n":${i}}`, exchange, 'k')));
      const stopping = rabbitStopApp();
      const t0 = Date.now();
      const outcome = await inFlight.then(
        () => 'confirmed',
        (e: Error) => e.message,
      );
      assert.ok(Date.now() - t0 < 15_000, `settled in ${Date.now() - t0} ms: ${outcome}`);
      ctx.diagnostic(`in-flight batch during stop_app: ${outcome} after ${Date.now() - t0} ms`);
      await stopping;
      await until(() => !t.isConnected(), 10_000, 'transport notices the broker is gone');
      const t1 = Date.now();
      await assert.rejects(t.send([msg('{"while":"down"}', exchange, 'k')]), /not connected/);
      assert.ok(Date.now() - t1 < 1000, 'rejects promptly');
    } finally {
      await rabbitStartApp();
    }
    await until(() => t.isConnected(), 20_000, 'transport recovered');
    assert.equal(states[states.length - 1], true);
    assert.deepEqual(await t.send([msg('{"after":"restart"}', exchange, 'k')]), {});
    // Whatever of the first batch was confirmed survived (durable queue, persistent messages); the last one is there.
    const rest = await collectAmqp(queue, { timeoutMs: 5000 });
    assert.ok(rest.some((m) => m.content.toString() === '{"after":"restart"}'));
    await cleanup([queue], [exchange]);
  });
});
