// End to end: real Zeek cluster log-write captures → PULL ingress → Kafka / RabbitMQ; CURVE on both ingresses.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { AMQP_URL, KAFKA_BROKERS, collectAmqp, collectKafka, declareTestQueue, requireKafka, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { eventually, metricValue, withGateway, type FixtureIngress, type GatewayFixture } from '../helpers/gateway.js';
import { loadCapture, readLogLines, testdataPath, PCAPS } from '../helpers/testdata.js';

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

const keys = JSON.parse(readFileSync(testdataPath('cluster', 'curve-keys.json'), 'utf8')) as {
  server: { public: string; secret: string };
  client: { public: string; secret: string };
};

/** PUSHes `messages` into the fixture's PULL ingress from a new sender (a Zeek node), with CURVE keys if given. */
async function push(gw: GatewayFixture, messages: Buffer[][], curve?: { curveServerKey: string; curvePublicKey: string; curveSecretKey: string }) {
  const sock = gw.push(curve);
  for (const m of messages) await sock.send(m);
}

test('cluster batches from a real Zeek worker reach Kafka as the same JSON lines the worker wrote itself', async () => {
  const id = uniqueName('cluster');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, '#');
  const config = {
    sinks: {
      kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic: `${id}-{path}`, envelope: 'raw' },
      rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } },
    },
    routing: {
      routes: [
        { match: ['reporter', 'cluster'], destinations: [{ sink: 'rabbit' }] },
        { match: ['*'], destinations: [{ sink: 'kafka' }] },
      ],
    },
  };
  await withGateway(config, async (gw) => {
    const pcap = 'smtp';
    const messages = loadCapture('cluster', `${pcap}.jsonl`);
    await push(gw, messages);
    for (const path of ['conn', 'dns', 'files', 'packet_filter', 'smtp', 'ssl', 'x509']) {
      const want = readLogLines('cluster', `${pcap}.logs`, 'worker-local-json', `${path}.log`);
      const got = await collectKafka(`${id}-${path}`, { count: want.length, timeoutMs: 30_000 });
      assert.deepEqual(got.map((r) => r.value!.toString()), want, `${path}: byte-identical to the worker's own JSON log`);
      assert.ok(got.every((r) => r.headers['zeek-sender']?.toString().startsWith('zeromq_worker-1_')));
      assert.ok(got.every((r) => r.headers['zeek-path']?.toString() === path));
    }
    // reporter: one from the worker, two from the manager; tagged for RabbitMQ, with the sender header.
    const reports = await collectAmqp(queue, { count: 3, timeoutMs: 20_000 });
    const senders = reports.map((r) => String(r.headers['zeek-sender']).split('_')[1]).sort();
    assert.deepEqual(senders, ['manager', 'manager', 'worker-1']);
    assert.ok(reports.every((r) => r.content.toString().startsWith('{"reporter":{"ts":')));
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_records_received_total', { ingress: 'pull' }), 23);
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_ingress_messages_total', { ingress: 'pull' }), messages.length);
    assert.equal(
      await metricValue(gw.metrics, 'zeek_gateway_records_received_total', { path: 'conn', sender: 'worker-1@vm' }),
      9,
    );
  }, { ingress: 'pull' });
});

/**
 * Every cluster capture through one PUSH socket, in turn, into a Kafka sink with these options:
 * each topic must hold the worker's own JSON lines of all captures, byte-identical and in order.
 * `lines` reads a consumed message's records (one, or NDJSON's several).
 */
async function allCapturesThroughKafka(
  id: string,
  sink: Record<string, unknown>,
  lines: (value: string) => string[],
): Promise<{ records: number; messages: number }> {
  const config = {
    sinks: { kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic: `${id}-{path}`, envelope: 'raw', ...sink } },
    // The manager adds reporter records of its own; the worker's logs are the ground truth here.
    routing: { exclude: ['reporter'], routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
  };
  return withGateway(config, async (gw) => {
    const want = new Map<string, string[]>();
    const messages: Buffer[][] = [];
    for (const pcap of PCAPS) {
      messages.push(...loadCapture('cluster', `${pcap}.jsonl`));
      for (const file of readdirSync(testdataPath('cluster', `${pcap}.logs`, 'worker-local-json'))) {
        const path = file.replace(/\.log$/, '');
        if (path === 'reporter') continue;
        want.set(path, [...(want.get(path) ?? []), ...readLogLines('cluster', `${pcap}.logs`, 'worker-local-json', file)]);
      }
    }
    await push(gw, messages);
    let records = 0;
    let consumed = 0;
    for (const [path, expected] of want) {
      const got = await collectKafka(`${id}-${path}`, { count: expected.length, timeoutMs: 30_000, weight: (r) => lines(r.value!.toString()).length });
      assert.deepEqual(got.flatMap((r) => lines(r.value!.toString())), expected, `${path}: byte-identical and in order`);
      assert.ok(got.every((r) => r.headers['zeek-path']?.toString() === path && r.headers['zeek-sender']?.toString().startsWith('zeromq_worker-1_')));
      records += expected.length;
      consumed += got.length;
    }
    assert.ok(records > 100, `${records} records compared`);
    // Every record received (the manager's own logs too, which the worker's files lack) was acknowledged.
    const received = await metricValue(gw.metrics, 'zeek_gateway_records_received_total', { ingress: 'pull' });
    const reporter = await metricValue(gw.metrics, 'zeek_gateway_records_received_total', { ingress: 'pull', path: 'reporter' });
    await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_sink_acknowledged_total', { sink: 'kafka' })) === received - reporter);
    return { records, messages: consumed };
  }, { ingress: 'pull' });
}

for (const client of ['platformatic', 'kafkajs']) {
  test(`with the ${client} client, every cluster capture reaches Kafka byte-identical to the worker logs, in order`, async () => {
    const { records, messages } = await allCapturesThroughKafka(uniqueName(client.slice(0, 4)), { client }, (value) => [value]);
    assert.equal(messages, records);
  });
}

for (const client of ['platformatic', 'kafkajs']) {
  test(`in the throughput configuration (${client}, NDJSON, 8 batches in flight), every cluster capture reaches Kafka byte-identical, in order`, async () => {
    const sink = { client, recordsPerMessage: 100, buffer: { maxInFlight: 8 } };
    const { records, messages } = await allCapturesThroughKafka(uniqueName(`${client.slice(0, 4)}-ndjson`), sink, (value) => {
      assert.ok(value.endsWith('\n'), 'an NDJSON message ends with a newline');
      return value.slice(0, -1).split('\n');
    });
    assert.ok(messages < records / 2, `${records} records in ${messages} messages`);
  });
}

/** Runs `fn` against a gateway whose sink writes to a file (`lines`), for tests about the ingress only. */
async function withFileGateway(ingress: FixtureIngress, fn: (gw: GatewayFixture, lines: () => string[]) => Promise<void>): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-curve-')), 'out.jsonl');
  const lines = (): string[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const config = {
    sinks: { out: { type: 'console', file, envelope: 'raw' } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
  };
  await withGateway(config, (gw) => fn(gw, lines), { ingress });
}

const curveIngress = (endpoint: string) => ({
  enabled: true,
  endpoints: [endpoint],
  curve: { enabled: true, serverSecretKey: keys.server.secret, allowedClientKeys: [keys.client.public] },
});

test('CURVE on the PULL ingress: the allowed Zeek client key delivers; an unknown key and a plaintext client deliver nothing', async () => {
  await withFileGateway((endpoint) => ({ sub: { enabled: false }, pull: curveIngress(endpoint) }), async (gw, lines) => {
    const messages = loadCapture('cluster', 'http-non-printable-characters.curve.jsonl');
    const stranger = zmq.curveKeyPair();
    await push(gw, messages, { curveServerKey: keys.server.public, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey });
    await push(gw, messages);
    await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_curve_auth_total', { result: 'unknown-key' })) >= 1, 10_000, 'refused key');
    await eventually(
      async () => (await metricValue(gw.metrics, 'zeek_gateway_zmq_events_total', { ingress: 'pull', event: 'handshake:error:protocol' })) +
        (await metricValue(gw.metrics, 'zeek_gateway_zmq_events_total', { ingress: 'pull', event: 'handshake:error:other' })) >= 1,
      10_000,
      'plaintext handshake failure',
    );
    assert.deepEqual(lines(), [], 'nothing from the refused clients');
    await push(gw, messages, { curveServerKey: keys.server.public, curvePublicKey: keys.client.public, curveSecretKey: keys.client.secret });
    await eventually(() => lines().length === 16, 10_000, '16 records from the allowed client');
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_curve_auth_total', { ingress: 'pull', result: 'allowed' }), 1);
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_records_received_total'), 16);
  });
});

test('CURVE on the SUB ingress: only the allowed publisher key delivers', async () => {
  await withFileGateway((endpoint) => ({ sub: curveIngress(endpoint) }), async (gw, lines) => {
    const records = loadCapture('ncsa', 'ssh_kex_curve25519.jsonl');
    const publish = async (curve: { publicKey: string; secretKey: string }) => {
      const pub = gw.track(new zmq.XPublisher({ linger: 1000 }));
      pub.curveServerKey = keys.server.public;
      pub.curvePublicKey = curve.publicKey;
      pub.curveSecretKey = curve.secretKey;
      pub.connect(gw.endpoint);
      const subscribed = await Promise.race([pub.receive().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1500))]);
      if (subscribed) for (const m of records) await pub.send(m);
      return { subscribed };
    };
    const stranger = zmq.curveKeyPair();
    const bad = await publish(stranger);
    assert.equal(bad.subscribed, false, 'a refused client never gets the subscription');
    const good = await publish({ publicKey: keys.client.public, secretKey: keys.client.secret });
    assert.equal(good.subscribed, true);
    await eventually(() => lines().length === records.length, 10_000, 'records from the allowed publisher');
    assert.deepEqual(lines(), records.map((m) => m[1]!.toString()));
    assert.ok((await metricValue(gw.metrics, 'zeek_gateway_curve_auth_total', { ingress: 'sub', result: 'unknown-key' })) >= 1);
  });
});

test('PULL ingress in ncsa format accepts PUSHed [path, JSON] messages', async () => {
  await withFileGateway((endpoint) => ({ sub: { enabled: false }, pull: { enabled: true, format: 'ncsa', endpoints: [endpoint] } }), async (gw, lines) => {
    const all = PCAPS.flatMap((p) => loadCapture('ncsa', `${p}.jsonl`));
    await push(gw, [...all, [Buffer.from('conn')]]);
    await eventually(() => lines().length === all.length, 10_000, 'all records');
    assert.deepEqual(lines(), all.map((m) => m[1]!.toString()));
    await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_ingress_rejected_total', { reason: 'frame-count' })) === 1, 5000);
  });
});
