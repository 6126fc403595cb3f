// The peers benchmark's own logic: how a frame-forwarding peer's topic is verified against the
// replay plan, which round of a scenario counts and how ratios to the gateway are made, and the
// rsyslog config made from the shared template. (Speeds are never asserted: that is the bench's job.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATASETS, makePlan, type Dataset } from '../../../bench/lib/data.js';
import { FrameTally } from '../../../bench/peers/frame-tally.js';
import { applyRatios, bestOfRounds, type PeerRunResult } from '../../../bench/peers/results.js';
import { rsyslogConfig, recipesRoot, rpconnectKafkaConfig, rpconnectAmqpConfig, type PeerAddressing } from '../../../bench/peers/configs.js';
import { gatewayPeerScenario } from '../../../bench/peers/runs.js';
import { kafkaClientOf } from '../../../bench/runs/shared.js';
import { defaultKafkaOptions } from '../../../src/sinks/kafka/options.js';

/** A small NCSA dataset: [path, record] messages, as the load capture holds them. */
function dataset(messages: Array<[string, string]>): Dataset {
  const frames = messages.map(([p, r]) => [Buffer.from(p), Buffer.from(r)]);
  return {
    spec: DATASETS.ncsa as Dataset['spec'],
    source: 'test',
    frames,
    paths: messages.map(([p]) => p),
    records: frames.map((f) => [f[1] as Buffer]),
    jsonBytes: messages.map(([, r]) => r.length),
    wireBytes: messages.map(([p, r]) => p.length + r.length),
    totalRecords: messages.length,
    skipped: 0,
  };
}

const d = dataset([
  ['conn', '{"uid":"C1"}'],
  ['dns', '{"query":"a.example"}'],
  ['conn', '{"uid":"C2"}'],
]);

/** The frames a faithful frame forwarder leaves for `records` records: path, record, path, record, ... */
function forwarded(records: number): Buffer[] {
  const plan = makePlan(d, records);
  return [...plan.sequence].flatMap((k) => d.frames[k] as Buffer[]);
}

test('FrameTally: every path and record frame of the plan, in order, is verified and fully paired', () => {
  // 5 records cycle through the 3 messages: C1, a.example, C2, C1, a.example.
  const t = new FrameTally(d, makePlan(d, 5));
  for (const f of forwarded(5)) t.add(f);
  assert.equal(t.complete, true);
  assert.deepEqual(t.counts(), { messages: 10, pathFrames: 5, recordFrames: 5, lost: 0, duplicates: 0, pathFramesLost: 0, foreign: 0, adjacentPairs: 5, ok: true });
});

test('FrameTally: a lost record, a duplicate, an altered record and a lost path frame each fail the run', () => {
  const frames = forwarded(5);
  const lost = new FrameTally(d, makePlan(d, 5));
  for (const f of frames.filter((_, i) => i !== 3)) lost.add(f); // the record a.example
  assert.equal(lost.counts().lost, 1);
  assert.equal(lost.counts().ok, false);
  assert.equal(lost.complete, false);

  const dup = new FrameTally(d, makePlan(d, 5));
  for (const f of [...frames, Buffer.from('{"uid":"C2"}')]) dup.add(f);
  assert.equal(dup.counts().duplicates, 1);
  assert.equal(dup.counts().ok, false);

  const altered = new FrameTally(d, makePlan(d, 5));
  for (const f of frames.map((f, i) => (i === 1 ? Buffer.from('{"uid":"C1" }') : f))) altered.add(f);
  assert.equal(altered.counts().foreign, 1);
  assert.equal(altered.counts().lost, 1);
  assert.equal(altered.counts().ok, false);

  const noPath = new FrameTally(d, makePlan(d, 5));
  for (const f of frames.filter((_, i) => i !== 0)) noPath.add(f);
  assert.equal(noPath.counts().lost, 0);
  assert.equal(noPath.counts().pathFramesLost, 1);
  assert.equal(noPath.counts().ok, false);
});

test('FrameTally: records that do not follow their own path frame are delivered but not counted as paired', () => {
  // path, path, record, record: only the second record follows a path frame, and it is not its own.
  const t = new FrameTally(d, makePlan(d, 2));
  for (const f of ['conn', 'dns', '{"uid":"C1"}', '{"query":"a.example"}']) t.add(Buffer.from(f));
  assert.equal(t.counts().ok, true);
  assert.equal(t.counts().adjacentPairs, 0);
});

function run(over: Partial<PeerRunResult> & Pick<PeerRunResult, 'id' | 'tool' | 'sink' | 'round'>): PeerRunResult {
  const v = { sink: over.sink, received: 10, lost: 0, duplicates: 0, foreign: 0, outOfOrder: 0, ok: true };
  return { title: over.id, records: 10, jsonBytes: 100, brokerMessages: 10, verification: v, ...over };
}

test('bestOfRounds and applyRatios: the fastest verified round of each scenario, against the gateway on the same broker', () => {
  const runs = [
    run({ id: 'gateway-kafka', tool: 'gateway', sink: 'kafka', round: 1, recordsPerSec: 1000, cpuMicrosPerRecord: 20, peakRssMB: 100 }),
    run({ id: 'rpconnect-kafka', tool: 'redpanda-connect', sink: 'kafka', round: 1, recordsPerSec: 3000, cpuMicrosPerRecord: 10, peakRssMB: 50 }),
    run({ id: 'gateway-amqp', tool: 'gateway', sink: 'amqp', round: 1, recordsPerSec: 400, cpuMicrosPerRecord: 40, peakRssMB: 80 }),
    run({ id: 'gateway-kafka', tool: 'gateway', sink: 'kafka', round: 2, recordsPerSec: 2000, cpuMicrosPerRecord: 15, peakRssMB: 110 }),
    // faster, but a record was lost: it does not count
    run({
      id: 'rpconnect-kafka',
      tool: 'redpanda-connect',
      sink: 'kafka',
      round: 2,
      recordsPerSec: 9000,
      cpuMicrosPerRecord: 5,
      peakRssMB: 40,
      verification: { sink: 'kafka', received: 9, lost: 1, duplicates: 0, foreign: 0, outOfOrder: 0, ok: false },
    }),
  ];
  const best = bestOfRounds(runs);
  assert.deepEqual(best.map((r) => [r.id, r.round, r.roundsRecordsPerSec]), [
    ['gateway-kafka', 2, [1000, 2000]],
    ['rpconnect-kafka', 1, [3000, 9000]],
    ['gateway-amqp', 1, [400]],
  ]);
  applyRatios(best);
  const rp = best.find((r) => r.id === 'rpconnect-kafka') as PeerRunResult;
  assert.deepEqual(rp.vsGateway, { recordsPerSec: 1.5, cpuMicrosPerRecord: 0.667, peakRss: 0.455 });
  assert.equal(best.find((r) => r.id === 'gateway-kafka')?.vsGateway, undefined);
});

test('applyRatios: a peer without a verified gateway run on its broker gets no ratio', () => {
  const runs = [
    run({ id: 'gateway-amqp', tool: 'gateway', sink: 'amqp', round: 1, recordsPerSec: 400, error: 'broker went away' }),
    run({ id: 'rpconnect-amqp', tool: 'redpanda-connect', sink: 'amqp', round: 1, recordsPerSec: 300 }),
  ];
  applyRatios(runs);
  assert.equal(runs[1]?.vsGateway, undefined);
});

test('rsyslogConfig: the shared template with the run\'s port, topic and work folder, nothing left to fill in', () => {
  const conf = rsyslogConfig(41234, 'zlgb-x-frames', '/tmp/run-dir', join(recipesRoot(), 'rsyslog', 'imczmq-omkafka.conf.in'));
  assert.match(conf, /endpoints="@tcp:\/\/127\.0\.0\.1:41234"/);
  assert.match(conf, /topic="zlgb-x-frames"/);
  assert.match(conf, /workDirectory="\/tmp\/run-dir"/);
  assert.doesNotMatch(conf, /@[A-Z]+@/);

  const dir = mkdtempSync(join(tmpdir(), 'zlg-peers-'));
  const other = join(dir, 'other.conf.in');
  writeFileSync(other, 'input(port="@PORT@" user="@USER@")\n');
  assert.throws(() => rsyslogConfig(1, 't', dir, other), /@USER@/);
});

test('Redpanda Connect configs address the run as the gateway runs are addressed, with the gateway\'s batch limits', () => {
  const a: PeerAddressing = {
    endpoint: 'tcp://127.0.0.1:5555',
    httpPort: 4195,
    kafkaBrokers: ['127.0.0.1:9092'],
    topicPrefix: 'run-1',
    amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
    exchange: 'zlg-bench',
    routingKeyPrefix: 'run-1',
  };
  const k = rpconnectKafkaConfig(a) as { input: { zmq4: Record<string, unknown> }; output: { kafka_franz: Record<string, unknown> } };
  assert.deepEqual(k.input.zmq4.urls, ['tcp://127.0.0.1:5555']);
  assert.equal(k.input.zmq4.bind, true);
  assert.equal(k.output.kafka_franz.topic, 'run-1-${! metadata("zeek-path") }');
  assert.deepEqual(k.output.kafka_franz.batching, { count: 1000, byte_size: 900_000, period: '5ms' });
  const q = rpconnectAmqpConfig(a) as { output: { amqp_0_9: Record<string, unknown> } };
  assert.equal(q.output.amqp_0_9.key, 'run-1.${! metadata("zeek-path") }');
  assert.equal(q.output.amqp_0_9.persistent, true);
});

// The main suite's gateway scenarios without a client measure kafkajs (ncsa-kafka); the peers
// compare the gateway as shipped, so its scenario names the default client. (Until 2026-12-04 it
// did not, and the "defaults" rows of the peers reports were kafkajs.)
test('the gateway peer runs the Kafka client the gateway ships with', () => {
  const s = gatewayPeerScenario({ id: 'gateway-kafka', tool: 'gateway', sink: 'kafka', title: 'gateway (defaults)' });
  assert.equal(kafkaClientOf(s, s.sinks), defaultKafkaOptions().client);
  assert.equal(defaultKafkaOptions().client, 'platformatic');
});
