// The gateway image for real: built from the repository's Dockerfile on a local engine
// (scripts/docker.sh up), run as a container against the local brokers on the host's loopback.
// Not part of `npm test`: `npm run test:container` (CI runs it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as zmq from 'zeromq';
import amqp from 'amqplib';
import { AMQP_URL, KAFKA_BROKERS, collectAmqp, collectKafka, requireKafka, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { GATEWAY_IMAGE, buildGatewayImage, docker, inspect, requireDocker, scrapeMetric } from '../helpers/docker.js';
import { eventually, freePort } from '../helpers/gateway.js';
import { holdingProxy } from '../helpers/proxy.js';
import { loadCapture, readLogLines } from '../helpers/testdata.js';

const containers: string[] = [];

before(async () => {
  await requireDocker();
  await requireRabbitMQ();
  await requireKafka();
  await buildGatewayImage();
});

after(async () => {
  for (const c of containers) await docker(['rm', '-f', '-v', c]).catch(() => undefined);
});

test('the image runs as its non-root user, and check-config accepts its default configuration', async () => {
  assert.equal(await inspect(GATEWAY_IMAGE, '{{.Config.User}}'), 'node');
  const id = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'id', GATEWAY_IMAGE]);
  assert.match(id, /^uid=1000\(node\) gid=1000\(node\)/);
  const node = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'node', GATEWAY_IMAGE, '--version']);
  assert.equal(node.trim(), `v${readFileSync('.node-version', 'utf8').trim().replace(/^v/, '')}`, 'the Node the project tests, from the base image');

  const out = await docker(['run', '--rm', '--network', 'none', GATEWAY_IMAGE, 'check-config', '--config', '/etc/zeek-log-gateway/config.json']);
  const effective = JSON.parse(out) as { sinks: Record<string, { type: string; buffer: { spool: { enabled: boolean; dir: string } } }> };
  assert.deepEqual(Object.entries(effective.sinks).map(([name, s]) => `${name}:${s.type}`).sort(), ['kafka:kafka', 'rabbitmq:amqp']);
  for (const s of Object.values(effective.sinks)) assert.deepEqual([s.buffer.spool.enabled, s.buffer.spool.dir], [true, '/var/spool/zeek-log-gateway']);
  // The spool folder a volume is mounted on belongs to the gateway's user.
  const owner = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'stat', GATEWAY_IMAGE, '-c', '%U', '/var/spool/zeek-log-gateway']);
  assert.equal(owner.trim(), 'node');
});

test('against the brokers: /readyz goes ready, the HEALTHCHECK reports healthy, and on SIGTERM the gateway delivers what it holds, then exits 0', async () => {
  const id = uniqueName('image');
  const [http, pull] = [await freePort(), await freePort()];
  const name = `zlg-test-${id}`;
  containers.push(name);
  // RabbitMQ through a proxy the test can hold: publishes then get no confirms, so the sink still
  // holds every record when SIGTERM arrives, and only the drain after it can deliver them.
  const amqpUrl = new URL(AMQP_URL);
  const proxy = await holdingProxy({ host: amqpUrl.hostname, port: Number(amqpUrl.port || 5672) });
  // As docker-compose.yml runs it (read-only root, no capabilities, a volume for the spool),
  // but on the host's network against the brokers on its loopback, with names of its own.
  await docker([
    'run', '-d', '--name', name, '--network', 'host', '--init', '--read-only', '--tmpfs', '/tmp',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', '-v', '/var/spool/zeek-log-gateway',
    '-e', 'ZLG_HTTP_HOST=127.0.0.1', '-e', `ZLG_HTTP_PORT=${http}`,
    '-e', `ZLG_INGRESS_PULL_ENDPOINTS=tcp://127.0.0.1:${pull}`, '-e', 'ZLG_INGRESS_SUB_ENABLED=false',
    '-e', 'ZLG_SINK_RABBITMQ_HOST=127.0.0.1', '-e', `ZLG_SINK_RABBITMQ_PORT=${proxy.port}`,
    '-e', 'ZLG_SINK_RABBITMQ_USERNAME=guest', '-e', 'ZLG_SINK_RABBITMQ_PASSWORD=guest',
    '-e', `ZLG_SINK_RABBITMQ_EXCHANGE=${id}`, '-e', `ZLG_SINK_RABBITMQ_DECLARE_EXCHANGE_NAME=${id}`,
    '-e', `ZLG_SINK_RABBITMQ_QUEUE_NAME=${id}`, '-e', 'ZLG_SINK_RABBITMQ_QUEUE_DURABLE=false',
    '-e', `ZLG_SINK_KAFKA_BROKERS=${KAFKA_BROKERS.join(',')}`, '-e', `ZLG_SINK_KAFKA_TOPIC=${id}-{path}`,
    // Room for the test to see the drain begin before it releases RabbitMQ (default 10 s).
    '-e', 'ZLG_SHUTDOWN_LINGER_MS=30000',
    GATEWAY_IMAGE,
  ]);
  const logs = (): Promise<string> => docker(['logs', name], { stderr: true });
  const logLine = async (msg: string): Promise<Record<string, number> | undefined> => {
    const line = (await logs()).split('\n').find((l) => l.includes(`"msg":"${msg}"`));
    return line === undefined ? undefined : (JSON.parse(line) as Record<string, number>);
  };
  const metrics = `http://127.0.0.1:${http}/metrics`;
  try {
    await eventually(async () => (await fetch(`http://127.0.0.1:${http}/readyz`).catch(() => undefined))?.status === 200, 90_000, '/readyz 200');
    // The image's own HEALTHCHECK (every 10 s) runs the same probe inside the container.
    await eventually(async () => (await inspect(name, '{{.State.Health.Status}}')) === 'healthy', 60_000, 'HEALTHCHECK healthy');

    proxy.hold();
    const messages = loadCapture('cluster', 'smtp.jsonl');
    const push = new zmq.Push({ linger: 2000, sendHighWaterMark: 0 });
    push.connect(`tcp://127.0.0.1:${pull}`);
    for (const m of messages) await push.send(m);
    await eventually(async () => (await scrapeMetric(metrics, 'zeek_gateway_ingress_messages_total')) === messages.length, 30_000, 'every batch received');
    push.close();
    const records = await scrapeMetric(metrics, 'zeek_gateway_records_received_total');
    await eventually(async () => (await scrapeMetric(metrics, 'zeek_gateway_sink_buffer_records', { sink: 'rabbitmq' })) === records, 30_000, 'every record held by the rabbitmq sink');

    // SIGTERM (what docker stop sends) while the rabbitmq sink holds every record.
    await docker(['kill', '--signal', 'TERM', name]);
    await eventually(async () => (await logLine('ingress stopped; draining sinks')) !== undefined, 30_000, 'the drain to begin');
    assert.equal(await inspect(name, '{{.State.Running}}'), 'true', 'the gateway is still draining');
    assert.ok((await logLine('ingress stopped; draining sinks'))!.bufferedRecords! >= records, 'the drain began with every record held');
    proxy.release();
    assert.equal((await docker(['wait', name], { timeoutMs: 60_000 })).trim(), '0', 'exit code after the drain');
    const stopped = await logLine('gateway stopped');
    assert.deepEqual([stopped?.undelivered, stopped?.keptInSpool], [0, 0], 'nothing left over: undelivered, kept in the spool');

    for (const path of ['conn', 'smtp', 'ssl']) {
      const want = readLogLines('cluster', 'smtp.logs', 'worker-local-json', `${path}.log`);
      const got = await collectKafka(`${id}-${path}`, { count: want.length, timeoutMs: 30_000 });
      // The default (tagged) envelope around the worker's own JSON line, byte for byte.
      assert.deepEqual(got.map((r) => r.value!.toString()), want.map((line) => `{"${path}":${line}}`), path);
    }
    const queued = await collectAmqp(id, { count: records, timeoutMs: 30_000 });
    assert.equal(queued.length, records, 'every record in the RabbitMQ queue too, delivered during the drain');
  } finally {
    proxy.release();
    await docker(['rm', '-f', '-v', name]).catch(() => undefined);
    await proxy.close();
    // The queue and exchange the container declared on the shared broker.
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.deleteQueue(id);
    await ch.deleteExchange(id);
    await conn.close();
  }
});
