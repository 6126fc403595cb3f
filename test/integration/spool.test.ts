// The disk spool through the gateway: records survive a restart while the broker is away,
// and a damaged spool file costs only the damaged records.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_BROKERS, collectKafka, requireKafka, uniqueName } from '../helpers/brokers.js';
import { eventually, freePort, metricValue, withGateway } from '../helpers/gateway.js';
import { loadCapture } from '../helpers/testdata.js';

before(() => requireKafka());

test('records spooled while the broker is away survive a gateway restart; a damaged frame loses only itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-spool-'));
  const topic = uniqueName('spool');
  const sinkConfig = (brokers: string[]) => ({
    type: 'kafka',
    brokers,
    topic,
    envelope: 'raw',
    retry: { retries: 0 },
    buffer: { spool: { enabled: true, dir, fsync: 'always' } },
  });
  const wiki = loadCapture('ncsa', 'wikipedia.jsonl');
  const everything = { routes: [{ match: ['*'], destinations: [{ sink: 'k' }] }] };

  // Run 1: Kafka unreachable. Everything received goes to the spool and stays there at shutdown.
  const unreachable = [`127.0.0.1:${await freePort()}`];
  await withGateway({ sinks: { k: sinkConfig(unreachable) }, routing: everything }, async (first) => {
    const pub = await first.publisher();
    for (const m of wiki) await pub.send(m);
    await eventually(async () => (await metricValue(first.metrics, 'zeek_gateway_records_received_total')) === wiki.length, 10_000);
    await eventually(() => first.gateway.sinks.get('k')!.records === wiki.length, 10_000, 'all records spooled');
    assert.equal(await first.stop(300), wiki.length, 'reported as undelivered at shutdown');
    assert.equal(await metricValue(first.metrics, 'zeek_gateway_sink_dropped_total'), 0, 'kept, not dropped');
  });

  // Damage one record's frame in the middle of the segment, as a bad disk would.
  const segDir = join(dir, 'k');
  const segment = readdirSync(segDir).find((f) => f.endsWith('.seg'))!;
  const bytes = readFileSync(join(segDir, segment));
  const victim = wiki[40]![1]!;
  const at = bytes.indexOf(victim);
  assert.ok(at > 0, 'the record is in the spool as written');
  bytes[at + 10] ^= 0xff;
  writeFileSync(join(segDir, segment), bytes);

  // Run 2: Kafka is there. The kept records go out first, in order, except the damaged one.
  await withGateway({ sinks: { k: sinkConfig(KAFKA_BROKERS) }, routing: everything }, async (second) => {
    const want = wiki.filter((_, i) => i !== 40).map((m) => m[1]!.toString());
    const got = await collectKafka(topic, { count: want.length, timeoutMs: 30_000 });
    assert.deepEqual(got.map((r) => r.value!.toString()), want);
    assert.ok(got.every((r) => r.headers['zeek-path'] !== undefined));
    assert.equal(await metricValue(second.metrics, 'zeek_gateway_sink_spool_lost_records_total', { sink: 'k' }), 1);
    await eventually(() => second.gateway.sinks.get('k')!.records === 0, 10_000, 'spool emptied');
    assert.equal(await second.stop(), 0);
  });
});
