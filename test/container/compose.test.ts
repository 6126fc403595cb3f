// The compose stack for real: docker-compose.yml with test/container/compose.override.yml on a
// local engine (scripts/docker.sh up). The brokers are stand-in images, the Zeek services
// stand-ins that send the project's Zeek 8.2.2 captures (docs/deployment.md, "Stand-in images");
// the gateway, its configuration, ports, healthchecks, start order and volumes are the compose
// file's. The brokers' and the gateway's ports are published on free loopback ports, so the
// brokers the other tests use on this machine are never in the way.
// Not part of `npm test`: `npm run test:container` (CI runs it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { collectAmqp, collectKafka, kafkaClient, type AmqpMessage } from '../helpers/brokers.js';
import { ComposeProject, buildGatewayImage, docker, inspect, requireDocker, scrapeMetric } from '../helpers/docker.js';
import { eventually, freePort } from '../helpers/gateway.js';
import { TESTDATA, readLogLines, testdataPath } from '../helpers/testdata.js';

let stack: ComposeProject;
const port: Record<string, number> = {};
const kafkaConfig = () => ({ brokers: [`127.0.0.1:${port.KAFKA_HOST_PORT}`] });
const amqpUrl = () => `amqp://zeek:zeek@127.0.0.1:${port.RABBITMQ_AMQP_HOST_PORT}`;
const metric = (name: string, labels: Record<string, string> = {}) =>
  scrapeMetric(`http://127.0.0.1:${port.ZLG_HTTP_HOST_PORT}/metrics`, name, labels);
/** For polling: a scrape that fails or times out (a restarting or busy gateway) is "not yet", NaN. */
const polled = (name: string, labels: Record<string, string> = {}) => metric(name, labels).catch(() => NaN);

/** Zeek's own JSON log lines per path, over the captures in name order (as the stand-ins send them). */
function zeekLogs(kind: 'cluster' | 'ncsa', dir: (pcap: string) => string[]): Map<string, string[]> {
  const want = new Map<string, string[]>();
  const pcaps = readdirSync(testdataPath(kind)).filter((f) => /^[^.]+\.jsonl$/.test(f)).map((f) => f.replace(/\.jsonl$/, '')).sort();
  for (const pcap of pcaps) {
    for (const file of readdirSync(testdataPath(kind, ...dir(pcap))).sort()) {
      const path = file.replace(/\.log$/, '');
      want.set(path, [...(want.get(path) ?? []), ...readLogLines(kind, ...dir(pcap), file)]);
    }
  }
  return want;
}
// The cluster worker's own logs; its reporter.log also has lines the manager sends, so it is left out.
const CLUSTER = zeekLogs('cluster', (pcap) => [`${pcap}.logs`, 'worker-local-json']);
CLUSTER.delete('reporter');
const NCSA = zeekLogs('ncsa', (pcap) => [`${pcap}.logs`]);
/** The default (tagged) envelope of config/docker.json around Zeek's line. */
const tagged = (path: string, line: string) => `{"${path}":${line}}`;

/** The worker stand-in's container: state and exit code. */
async function workerState(): Promise<string> {
  const id = await stack.container('zeek-worker');
  return id ? inspect(id, '{{.State.Status}} {{.State.ExitCode}}') : 'none';
}

/**
 * Watches the engine's events for the project's containers while `during` runs (a stream: the
 * engine keeps only its last 256 events, and healthchecks make many), and returns when each service
 * first started and first turned healthy.
 */
async function startAndHealthy(during: () => Promise<unknown>): Promise<Map<string, { started: number; healthy: number }>> {
  const watch = spawn('docker', ['events', '--filter', 'type=container', '--filter', `label=com.docker.compose.project=${stack.name}`,
    '--format', '{{.TimeNano}} {{.Status}} {{index .Actor.Attributes "com.docker.compose.service"}}']);
  let out = '';
  watch.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await new Promise((r) => setTimeout(r, 500)); // subscribed before anything starts
    await during();
  } finally {
    watch.kill();
  }
  const t = new Map<string, { started: number; healthy: number }>();
  for (const line of out.trim().split('\n')) {
    const m = /^(\d+) (.+) (\S+)$/.exec(line);
    if (!m) continue;
    const [, nanos, status, service] = m;
    const at = Number(BigInt(nanos!) / 1_000_000n);
    const e = t.get(service!) ?? { started: NaN, healthy: NaN };
    if (status === 'start' && Number.isNaN(e.started)) e.started = at;
    if (status === 'health_status: healthy' && Number.isNaN(e.healthy)) e.healthy = at;
    t.set(service!, e);
  }
  return t;
}

/** Per service of the stack: the networks its container is on and the host addresses its ports are published on. */
async function exposure(): Promise<Map<string, { networks: string[]; hostIps: string[] }>> {
  const out = new Map<string, { networks: string[]; hostIps: string[] }>();
  for (const id of (await stack.run(['ps', '-a', '-q'])).trim().split('\n').filter(Boolean)) {
    const [service, ports, networks] = (
      await inspect(id, '{{index .Config.Labels "com.docker.compose.service"}}\t{{json .NetworkSettings.Ports}}\t{{json .NetworkSettings.Networks}}')
    ).split('\t');
    const bindings = Object.values((JSON.parse(ports!) ?? {}) as Record<string, Array<{ HostIp: string }> | null>);
    out.set(service!, {
      networks: Object.keys(JSON.parse(networks!) as object),
      hostIps: [...new Set(bindings.flatMap((b) => (b ?? []).map((x) => x.HostIp)))],
    });
  }
  return out;
}

/** Records on a topic from the host: the first `count`. */
async function kafkaLines(topic: string, count: number): Promise<string[]> {
  const got = await collectKafka(topic, { count, timeoutMs: 60_000, config: kafkaConfig() });
  return got.map((r) => r.value!.toString());
}

/**
 * `got` is `want` delivered at least once, in order: nothing but those lines, every one of them in
 * their order, and a record sent twice only as a batch the producer retried. (The first records to a
 * topic that Kafka creates on the first produce can come twice: kafkajs retries a produce request
 * when the new partition's leader is not ready, and the other topics of the request get their part
 * again.)
 */
function assertAtLeastOnceInOrder(got: string[], want: string[], what: string): void {
  const known = new Set(want);
  assert.deepEqual(got.filter((v) => !known.has(v)), [], `${what}: nothing but Zeek's lines`);
  let next = 0;
  for (const v of got) if (next < want.length && v === want[next]) next++;
  assert.equal(next, want.length, `${what}: all ${want.length} lines in order, ${next} found (${got.length} records)`);
}

/** Every record on a topic from `start` on (up to its current end), for at-least-once checks. */
async function kafkaLinesFrom(topic: string, start: number): Promise<string[]> {
  return (await kafkaLines(topic, await highWatermark(topic))).slice(start);
}

async function highWatermark(topic: string): Promise<number> {
  const admin = kafkaClient(kafkaConfig()).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

before(async () => {
  await requireDocker();
  await buildGatewayImage();
  for (const name of ['RABBITMQ_AMQP_HOST_PORT', 'RABBITMQ_UI_HOST_PORT', 'KAFKA_HOST_PORT', 'ZLG_HTTP_HOST_PORT', 'ZLG_PULL_HOST_PORT', 'ZLG_SUB_HOST_PORT']) {
    port[name] = await freePort();
  }
  const env = Object.fromEntries(Object.entries(port).map(([k, v]) => [k, String(v)]));
  stack = new ComposeProject('zlg-container-test', ['docker-compose.yml', 'test/container/compose.override.yml'], {
    ...env,
    ZLG_TESTDATA: TESTDATA,
    ZEEK_PCAP_LOOPS: '1',
    ZEEK_PCAP_LOOP_DELAY: '0',
  });
  await stack.run(['--profile', 'ncsa', 'down', '-v', '--remove-orphans'], { timeoutMs: 180_000 });
});

after(async () => {
  if (process.env.ZLG_KEEP_STACK) return; // to look at it: docker compose -p zlg-container-test ...
  await stack.run(['--profile', 'ncsa', 'down', '-v', '--remove-orphans'], { timeoutMs: 180_000 }).catch(() => undefined);
});

test('the stack starts in the order its healthchecks enforce, on its compose network with ports on the loopback only; the cluster captures reach Kafka and RabbitMQ byte for byte', async () => {
  // `up` returns once every service has started, each after the services it waits for are healthy.
  const t = await startAndHealthy(() => stack.run(['up', '-d'], { timeoutMs: 600_000 }));
  for (const [service, deps] of [['gateway', ['rabbitmq', 'kafka']], ['zeek-manager', ['gateway']], ['zeek-worker', ['gateway', 'zeek-manager']]] as const) {
    for (const dep of deps) {
      const [d, s] = [t.get(dep), t.get(service)];
      assert.ok(d && s && d.healthy <= s.started, `${service} started after ${dep} was healthy: ${JSON.stringify(Object.fromEntries(t))}`);
    }
  }

  // Network hygiene: each container on the compose network alone, published ports on the loopback only.
  const seen = await exposure();
  assert.deepEqual([...seen.keys()].sort(), ['gateway', 'kafka', 'rabbitmq', 'zeek-manager', 'zeek-worker']);
  for (const [service, { networks, hostIps }] of seen) {
    assert.deepEqual(networks, [`${stack.name}_zlg`], `${service}: networks`);
    assert.deepEqual(hostIps, ['gateway', 'kafka', 'rabbitmq'].includes(service) ? ['127.0.0.1'] : [], `${service}: published on`);
  }

  await eventually(async () => (await workerState()) === 'exited 0', 120_000, 'the worker stand-in sent its captures and exited 0');
  for (const [path, lines] of CLUSTER) {
    await eventually(async () => (await highWatermark(`zeek-${path}`)) >= lines.length, 60_000, `zeek-${path} filled`);
    assertAtLeastOnceInOrder(await kafkaLinesFrom(`zeek-${path}`, 0), lines.map((l) => tagged(path, l)), `Kafka zeek-${path}`);
  }
  // RabbitMQ: queue zeek gets every record (routing key = path), the manager's reporter lines too.
  const total = [...CLUSTER.values()].reduce((n, l) => n + l.length, 0);
  const received = await metric('zeek_gateway_records_received_total', { ingress: 'pull' });
  assert.ok(received > total, `${received} records received: the worker's ${total} and the manager's`);
  const queued = await collectAmqp('zeek', { count: received, timeoutMs: 60_000, url: amqpUrl() });
  const byPath = (msgs: AmqpMessage[], path: string) => msgs.filter((m) => m.routingKey === path).map((m) => m.content.toString());
  for (const [path, lines] of CLUSTER) {
    // amqp sinks keep order only while nothing is retried (20 batches in flight): compared as sets of lines.
    assert.deepEqual(byPath(queued, path).sort(), lines.map((l) => tagged(path, l)).sort(), `RabbitMQ ${path}`);
  }
  assert.ok(byPath(queued, 'reporter').length >= 3, 'reporter records of the manager and the worker');
});

test('docker compose restart gateway under load with Kafka down: the spool volume keeps what Kafka has not confirmed, and all of it arrives', async () => {
  const perPass = [...CLUSTER.values()].reduce((n, l) => n + l.length, 0);
  const before = new Map(await Promise.all([...CLUSTER.keys()].map(async (p) => [p, await highWatermark(`zeek-${p}`)] as const)));
  const spooledPasses = 3;
  // Kafka down (its data stays on its volume): the kafka sink can only spool. Three more passes go in.
  await stack.run(['stop', 'kafka'], { timeoutMs: 120_000 });
  try {
    await stack.run(['up', '-d', '--no-deps', 'zeek-worker'], { env: { ZEEK_PCAP_LOOPS: String(spooledPasses) } });
    await eventually(async () => (await workerState()) === 'exited 0', 120_000, 'three passes sent');
    await eventually(async () => (await polled('zeek_gateway_sink_buffer_records', { sink: 'kafka' })) >= spooledPasses * perPass, 60_000, 'the passes held by the kafka sink');
    assert.ok((await metric('zeek_gateway_sink_spool_bytes', { sink: 'kafka' })) > 0, 'in its spool files');

    // Load: the worker sends pass after pass while the gateway restarts (SIGTERM, linger, start).
    await stack.run(['up', '-d', '--no-deps', 'zeek-worker'], { env: { ZEEK_PCAP_LOOPS: '0', ZEEK_PCAP_LOOP_DELAY: '0.2' } });
    await eventually(async () => (await polled('zeek_gateway_sink_buffer_records', { sink: 'kafka' })) > spooledPasses * perPass, 30_000, 'load arriving');
    const gateway = await stack.container('gateway');
    const since = new Date().toISOString();
    await stack.run(['restart', 'gateway'], { timeoutMs: 120_000 });
    const died = await docker(['events', '--since', since, '--until', new Date().toISOString(), '--filter', `container=${gateway}`, '--filter', 'event=die', '--format', '{{index .Actor.Attributes "exitCode"}}']);
    assert.equal(died.trim(), '0', 'the gateway exited 0 on SIGTERM');
    const stopped = (await stack.logs('gateway')).split('\n').filter((l) => l.includes('"msg":"gateway stopped"')).map((l) => JSON.parse(l) as { undelivered: number; keptInSpool: number });
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0]!.undelivered, 0, 'nothing lost at the shutdown');
    assert.ok(stopped[0]!.keptInSpool >= spooledPasses * perPass, `kept in the spool: ${stopped[0]!.keptInSpool}`);

    // The new gateway process starts with what the volume kept, while Kafka is still down.
    await eventually(async () => (await polled('zeek_gateway_sink_buffer_records', { sink: 'kafka' })) >= stopped[0]!.keptInSpool, 60_000, 'the spool reloaded from the volume');
  } finally {
    await stack.run(['start', 'kafka'], { timeoutMs: 120_000 });
  }
  await stack.run(['stop', 'zeek-worker']);
  await eventually(async () => (await polled('zeek_gateway_sink_buffer_records', { sink: 'kafka' })) === 0, 120_000, 'the kafka spool drained');
  // Every spooled record reached Kafka (at least once), byte for byte; what the load added on top
  // is Zeek's lines too.
  for (const [path, lines] of CLUSTER) {
    const start = before.get(path)!;
    const got = await kafkaLinesFrom(`zeek-${path}`, start);
    const count = new Map<string, number>();
    for (const v of got) count.set(v, (count.get(v) ?? 0) + 1);
    const want = new Map<string, number>();
    for (const l of lines) want.set(tagged(path, l), (want.get(tagged(path, l)) ?? 0) + 1);
    assert.deepEqual([...count.keys()].filter((v) => !want.has(v)), [], `Kafka zeek-${path}: nothing but Zeek's lines`);
    for (const [v, n] of want) {
      assert.ok((count.get(v) ?? 0) >= spooledPasses * n, `Kafka zeek-${path}: ${v.slice(0, 80)}… ${count.get(v) ?? 0} times, want >= ${spooledPasses * n}`);
    }
  }
});

test('profile ncsa: the NCSA stand-in publishes to the SUB ingress, and Zeek\'s lines reach Kafka byte for byte', async () => {
  // Kafka was stopped and started by the test before: healthy again first, whatever became of that test.
  const kafka = await stack.container('kafka');
  await eventually(async () => (await inspect(kafka, '{{.State.Health.Status}}')) === 'healthy', 120_000, 'Kafka healthy');
  const before = new Map(await Promise.all([...NCSA.keys()].map(async (p) => [p, await highWatermark(`zeek-${p}`)] as const)));
  await stack.run(['--profile', 'ncsa', 'up', '-d', '--no-deps', 'zeek-ncsa'], { timeoutMs: 120_000 });
  for (const [path, lines] of NCSA) {
    const start = before.get(path)!;
    await eventually(async () => (await highWatermark(`zeek-${path}`)) >= start + lines.length, 60_000, `zeek-${path} filled`);
    assertAtLeastOnceInOrder(await kafkaLinesFrom(`zeek-${path}`, start), lines.map((l) => tagged(path, l)), `Kafka zeek-${path}, NCSA`);
  }
  const received = await metric('zeek_gateway_records_received_total', { ingress: 'sub' });
  assert.equal(received, [...NCSA.values()].reduce((n, l) => n + l.length, 0), 'every NCSA record, none twice');
});
