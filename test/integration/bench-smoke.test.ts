// The benchmark harness still works: `npm run bench -- --smoke` runs one tiny scenario of each
// kind against the local brokers and writes its results. This checks counts and the shape of the
// result files only — never a speed: the figures of a smoke run mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Results, ScenarioResult } from '../../bench/lib/results.js';
import { SMOKE_SCENARIOS } from '../../bench/lib/scenarios.js';

test('npm run bench -- --smoke: every scenario kind runs, every record is verified at the broker, results have their shape', { timeout: 15 * 60_000 }, () => {
  // The gateway under test is dist/: build it as `npm run bench` does.
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);

  const out = mkdtempSync(join(tmpdir(), 'zlg-bench-smoke-'));
  const run = spawnSync(process.execPath, ['bench/run.mjs', '--smoke', '--out', out, '--profile', 'ncsa-both'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(run.status, 0, `bench --smoke failed:\n${run.stdout}\n${run.stderr}`);

  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('.json'));
  const md = files.find((f) => f.endsWith('.md'));
  assert.ok(json && md, `expected <date>-<host>.json and .md in ${out}, got ${files.join(', ')}`);
  assert.match(json, /^\d{4}-\d{2}-\d{2}-.+\.json$/);
  assert.equal(md, json.replace(/\.json$/, '.md'));

  const r = JSON.parse(readFileSync(join(out, json), 'utf8')) as Results;
  assert.equal(r.schema, 'zeek-log-gateway-bench/1');
  assert.equal(r.smoke, true);
  assert.ok(r.machine.cores > 0);
  for (const k of ['host', 'cpuModel', 'node', 'rabbitmq', 'kafka'] as const) assert.ok(r.machine[k].length > 0, `machine.${k}`);
  assert.match(r.machine.rabbitmq, /^\d+\.\d+/, 'RabbitMQ version from the broker');
  assert.match(r.machine.kafka, /^\d+\.\d+/, 'Kafka version from scripts/kafka.sh status');

  const by = new Map(r.scenarios.map((s) => [s.id, s]));
  assert.deepEqual([...by.keys()].sort(), [...SMOKE_SCENARIOS].sort());
  const get = (id: string): ScenarioResult => by.get(id) as ScenarioResult;
  for (const s of r.scenarios) {
    assert.equal(s.error, undefined, `${s.id}: ${s.error}`);
    assert.ok(s.records > 0 && s.jsonBytes > 0, `${s.id}: records and bytes`);
    assert.ok(s.verification.length > 0, `${s.id}: verified`);
    for (const v of s.verification) {
      // Every record of the plan arrived, byte for byte, once (the outage may add duplicates).
      assert.equal(v.lost, 0, `${s.id}/${v.sink}: lost`);
      assert.equal(v.foreign, 0, `${s.id}/${v.sink}: foreign`);
      if (s.mode !== 'outage' && s.kind !== 'ingress') assert.equal(v.received, s.records, `${s.id}/${v.sink}: count`);
      assert.ok(v.ok || (s.mode === 'outage' && v.duplicates > 0), `${s.id}/${v.sink}: ok`);
    }
    assert.equal(typeof s.recordsPerSec, 'number', `${s.id}: records/s`);
    assert.equal(typeof s.mbPerSec, 'number', `${s.id}: MB/s`);
  }

  // Ceilings and the generator's own figures.
  assert.equal(get('ingress-ncsa').verification[0]?.sink, 'bare');
  assert.equal(typeof get('ingress-ncsa').generator?.cpuMicrosPerRecord, 'number');
  assert.deepEqual(get('ceiling-kafka').verification.map((v) => v.sink), ['kafka']);
  assert.deepEqual(get('ceiling-platformatic').verification.map((v) => v.sink), ['kafka']);
  assert.equal(get('ceiling-kafka').kafkaClient, 'kafkajs');
  assert.equal(get('ceiling-platformatic').kafkaClient, 'platformatic');
  assert.deepEqual(get('ceiling-amqp').verification.map((v) => v.sink), ['amqp']);

  // Fan-out at maximum rate: both brokers, ratio against the lowest ceiling, gateway figures, a profile.
  const both = get('ncsa-both');
  assert.deepEqual(both.verification.map((v) => v.sink).sort(), ['amqp', 'kafka']);
  assert.deepEqual(both.ceiling?.ids, ['ingress-ncsa', 'ceiling-kafka', 'ceiling-amqp']);
  assert.equal(both.kafkaClient, 'kafkajs');
  assert.equal(typeof both.ratio, 'number');
  assert.equal(both.gatewayCounters?.['acknowledged.kafka'], both.records);
  assert.equal(both.gatewayCounters?.['acknowledged.amqp'], both.records);
  for (const k of ['cpuSecondsPerMillion', 'peakRssMB', 'gatewayCores'] as const) assert.equal(typeof both[k], 'number', k);
  assert.ok((both.profile?.topFunctions.length ?? 0) > 0, 'profile analysed');
  assert.ok((both.profile?.byLibrary.length ?? 0) > 0, 'profile by library');

  // NDJSON, each broker: fewer messages than records, each split into its records and verified.
  for (const [id, sink] of [['ncsa-amqp-ndjson', 'amqp'], ['cluster-platformatic-ndjson', 'kafka']] as const) {
    const ndjson = get(id);
    assert.equal(ndjson.recordsPerMessage, 100, `${id}: recordsPerMessage`);
    assert.deepEqual(ndjson.verification.map((v) => v.sink), [sink]);
    assert.ok((ndjson.verification[0]?.messages ?? ndjson.records) < ndjson.records, `${id}: records travelled several to a message`);
    assert.equal(ndjson.gatewayCounters?.[`acknowledged.${sink}`], ndjson.records, `${id}: every record acknowledged`);
  }
  assert.equal(get('cluster-platformatic-ndjson').kafkaClient, 'platformatic');
  // The AMQP one is an alternative without a target; the Kafka one has the cluster target, labelled NDJSON.
  assert.ok(!r.targets.some((t) => t.scenario === 'ncsa-amqp-ndjson'), 'no target for AMQP NDJSON');
  assert.match(r.targets.find((t) => t.scenario === 'cluster-platformatic-ndjson')?.name ?? '', /NDJSON.*≥ 200,000 records\/s/);

  // Fixed rate: latency from send and arrival times of every record.
  const lat = get('cluster-kafka-latency');
  assert.equal(lat.mode, 'fixed');
  assert.ok(lat.latency, 'latency figures');
  assert.equal((lat.latency?.samples ?? 0) + (lat.latency?.warmupExcluded ?? 0), lat.records);
  for (const k of ['p50Ms', 'p99Ms', 'maxMs'] as const) assert.equal(typeof lat.latency?.[k], 'number', k);
  assert.equal(typeof lat.gatewayHistogram?.kafka?.count, 'number');

  // Outage: RabbitMQ was stopped and started, nothing was lost, memory was watched.
  const outage = get('outage-amqp');
  assert.ok((outage.outage?.seconds ?? 0) > 0);
  assert.equal(typeof outage.outage?.peakRssDuringOutageMB, 'number');
  assert.equal(typeof outage.peakRssMB, 'number');

  // Targets are reported (pass or fail), not asserted.
  const targets = new Set(r.targets.map((t) => t.scenario));
  for (const id of ['cluster-kafka-latency', 'outage-amqp']) assert.ok(targets.has(id), `target for ${id}`);

  const text = readFileSync(join(out, md), 'utf8');
  for (const heading of ['## Machine', '## Gateway at maximum rate', '## Gateway at a fixed rate: latency', '## Broker outage', '## Ceilings and the load generator', '## Targets', '## Where the gateway spends its time']) {
    assert.ok(text.includes(heading), `markdown has "${heading}"`);
  }
});
