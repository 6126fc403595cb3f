// The gateway as a process: start with a broker down, SIGTERM drain, exit codes, logs.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AMQP_URL, collectAmqp, declareTestQueue, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { runCli, writeConfig } from '../helpers/cli.js';
import { eventually, freePort, ncsaPublisher } from '../helpers/gateway.js';
import { loadCapture } from '../helpers/testdata.js';

before(() => requireRabbitMQ());

async function ready(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const wiki = loadCapture('ncsa', 'wikipedia.jsonl');

test('starts with a broker down, reports not ready, and on SIGTERM delivers what it can, logs the rest, exits 0', async () => {
  const id = uniqueName('life');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, '#');
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const deadKafka = `127.0.0.1:${await freePort()}`; // nothing listens here
  const file = writeConfig({
    ingress: { sub: { endpoints: [endpoint] } },
    http: { port: httpPort },
    shutdown: { lingerMs: 1500 },
    sinks: {
      rabbitmq: { url: AMQP_URL, exchange, declareExchange: { name: exchange } },
      kafka: { brokers: [deadKafka], retry: { retries: 0 } },
    },
  });
  const p = runCli(['run', '--config', file]);
  try {
    type Sinks = Record<string, { connected: boolean }>;
    await eventually(
      async () => ((await ready(httpPort).catch(() => undefined))?.body.sinks as Sinks | undefined)?.rabbitmq?.connected === true,
      20_000,
      'RabbitMQ connected',
    );
    const r = await ready(httpPort);
    assert.equal(r.status, 503, 'not ready while the required kafka sink is down');
    assert.equal((r.body.sinks as Sinks).kafka!.connected, false);
    assert.deepEqual(r.body.ingresses, { sub: true });
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    assert.equal(health.status, 200);

    const pub = await ncsaPublisher(endpoint);
    for (const m of wiki) await pub.send(m);
    pub.close();
    // RabbitMQ gets everything even though the Kafka sink is stuck.
    const got = await collectAmqp(queue, { count: wiki.length, timeoutMs: 20_000 });
    assert.equal(got.length, wiki.length);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    assert.match(metrics, /zeek_gateway_sink_buffer_records\{sink="kafka"\} 83/);
    assert.match(metrics, /zeek_gateway_sink_connected\{sink="rabbitmq"\} 1/);

    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    const undelivered = p.logs.find((l) => l.msg === 'records not delivered before the shutdown linger ran out');
    assert.equal(undelivered?.sink, 'kafka');
    assert.equal(undelivered?.undelivered, wiki.length);
    assert.equal(p.logs.find((l) => l.msg === 'gateway stopped')?.undelivered, wiki.length);
  } finally {
    p.child.kill('SIGKILL');
  }
});

test('fail-fast: a broker that is down at start stops the gateway with a clear error', async () => {
  const file = writeConfig({
    ingress: { sub: { endpoints: [`tcp://127.0.0.1:${await freePort()}`] } },
    http: { enabled: false },
    sinks: {
      rabbitmq: { url: `amqp://guest:guest@127.0.0.1:${await freePort()}`, failFast: true, connectTimeoutMs: 2000 },
      kafka: { enabled: false },
    },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbitmq' }] }] },
  });
  const p = runCli(['run', '--config', file]);
  const code = await p.exit;
  assert.notEqual(code, 0);
  const fatal = p.logs.find((l) => l.level === 'fatal');
  assert.equal(fatal?.msg, 'startup failed');
  assert.match(String(fatal?.err), /ECONNREFUSED/);
});

test('invalid configuration exits 2 naming every wrong key', async () => {
  const file = writeConfig({ ingress: { sub: { mode: 'sideways' } }, sinks: { kafka: { acks: 7 } }, typo: true });
  const p = runCli(['check-config', '--config', file]);
  assert.equal(await p.exit, 2);
  const text = p.logs.map((l) => String(l.msg)).join('\n');
  assert.match(text, /ingress\.sub\.mode: must be one of/);
  assert.match(text, /sinks\.kafka\.acks: must be -1 \(all\), 0 or 1/);
  assert.match(text, /typo: unknown key/);
});

test('run --dry-run connects to no broker and prints where each record would go', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const file = writeConfig({
    ingress: { sub: { endpoints: [endpoint] } },
    http: { enabled: false },
    // Brokers that do not exist: a dry run must not need them.
    sinks: {
      rabbitmq: { url: `amqp://guest:guest@127.0.0.1:${await freePort()}`, failFast: true },
      kafka: { brokers: [`127.0.0.1:${await freePort()}`], failFast: true, keyField: 'uid' },
    },
    routing: {
      routes: [
        { match: ['conn'], destinations: [{ sink: 'rabbitmq', routingKey: 'zeek.{path}' }, { sink: 'kafka' }] },
        { match: ['dns'], destinations: [{ sink: 'kafka', topic: 'dns-logs' }] },
      ],
    },
  });
  const p = runCli(['run', '--dry-run', '--config', file]);
  try {
    const pub = await ncsaPublisher(endpoint, 20_000);
    for (const m of wiki) await pub.send(m);
    pub.close();
    const conns = wiki.filter((m) => m[0]!.toString() === 'conn');
    const dns = wiki.filter((m) => m[0]!.toString() === 'dns');
    await eventually(() => p.stdout().split('\n').filter(Boolean).length === conns.length * 2 + dns.length, 10_000, 'dry-run lines');
    const lines = p.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const uid = (m: Buffer[]): string => (JSON.parse(m[1]!.toString()) as { uid: string }).uid;
    assert.deepEqual(
      lines.filter((l) => l.sink === 'rabbitmq').map((l) => [l.exchange, l.routingKey, l.path]),
      conns.map(() => ['zeek', 'zeek.conn', 'conn']),
    );
    assert.deepEqual(
      lines.filter((l) => l.sink === 'kafka' && l.path === 'conn').map((l) => [l.topic, l.key]),
      conns.map((m) => ['zeek-conn', uid(m)]),
    );
    assert.deepEqual(lines.filter((l) => l.path === 'dns').map((l) => l.topic), dns.map(() => 'dns-logs'));
  } finally {
    p.kill();
  }
});

test('SIGTERM while a blocking sink is full and its broker is down: the shutdown ends within the linger and accounts for every record', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const file = writeConfig({
    ingress: { sub: { endpoints: [endpoint] } },
    http: { enabled: false },
    shutdown: { lingerMs: 1000 },
    sinks: {
      rabbitmq: { enabled: false },
      kafka: { brokers: [`127.0.0.1:${await freePort()}`], retry: { retries: 0 }, buffer: { whenFull: 'block', maxRecords: 10 } },
    },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
  });
  const p = runCli(['run', '--config', file]);
  try {
    const pub = await ncsaPublisher(endpoint, 20_000);
    for (const m of wiki) await pub.send(m);
    pub.close();
    await eventually(() => p.logs.some((l) => l.msg === 'batch not acknowledged; will retry'), 20_000, 'the sink failing');
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    assert.ok(Date.now() - t0 < 8000, `shutdown took ${Date.now() - t0} ms`);
    // The sink held 10 (its high-water mark); the rest waited in the socket. Shutdown reads those too,
    // so every record sent is reported as undelivered instead of vanishing with the socket.
    assert.equal(p.logs.find((l) => l.msg === 'gateway stopped')?.undelivered, wiki.length);
  } finally {
    p.child.kill('SIGKILL');
  }
});
