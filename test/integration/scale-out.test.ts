// Scale-out: a Zeek cluster PUSHes its log batches round-robin to every logger it knows, so
// several gateways can share one cluster's load. Two gateway processes (each its own PULL
// endpoint, HTTP port and spool directory) as the loggers of one PUSH sender: every record must
// reach Kafka exactly once across them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { KAFKA_BROKERS, collectKafka, createKafkaTopics, kafkaClient, requireKafka, uniqueName } from '../helpers/brokers.js';
import { writeConfig } from '../helpers/cli.js';
import { drained, scrape, spawnGateway, whenReady, type Proc } from '../helpers/faults.js';
import { freePort } from '../helpers/gateway.js';
import { PCAPS, loadCapture, readLogLines, testdataPath } from '../helpers/testdata.js';

/**
 * Every cluster capture's batches, the worker's own JSON lines of them and their paths (reporter
 * aside: the manager adds lines of its own, which the worker's files lack).
 */
function captures(): { messages: Buffer[][]; lines: string[]; paths: string[] } {
  const messages: Buffer[][] = [];
  const lines: string[] = [];
  const paths = new Set<string>();
  for (const pcap of PCAPS) {
    messages.push(...loadCapture('cluster', `${pcap}.jsonl`));
    for (const file of readdirSync(testdataPath('cluster', `${pcap}.logs`, 'worker-local-json'))) {
      if (file === 'reporter.log') continue;
      paths.add(file.replace(/\.log$/, ''));
      lines.push(...readLogLines('cluster', `${pcap}.logs`, 'worker-local-json', file));
    }
  }
  return { messages, lines, paths: [...paths] };
}

async function highWaterMark(topic: string): Promise<number> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

test('two gateways as the loggers of one PUSH sender share its batches; every record reaches Kafka exactly once across them', { timeout: 180_000 }, async (t) => {
  await requireKafka();
  const topic = uniqueName('scale-out');
  await createKafkaTopics([topic], 2);
  const { messages, lines, paths } = captures();
  const gateways: Proc[] = [];
  const endpoints: string[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const endpoint = `tcp://127.0.0.1:${await freePort()}`;
      const httpPort = await freePort();
      const spool = mkdtempSync(join(tmpdir(), `zlg-scale-out-${i}-`));
      const config = writeConfig({
        ingress: { sub: { enabled: false }, pull: { enabled: true, endpoints: [endpoint] } },
        http: { port: httpPort },
        log: { level: 'info' },
        sinks: {
          rabbitmq: { enabled: false },
          kafka: { type: 'kafka', brokers: KAFKA_BROKERS, topic, envelope: 'raw', buffer: { spool: { enabled: true, dir: spool } } },
        },
        routing: { include: paths, routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
      });
      gateways.push(spawnGateway(config, httpPort));
      endpoints.push(endpoint);
    }
    await Promise.all(gateways.map(whenReady));

    // As a Zeek node with two loggers: one PUSH socket connected to both, batches go round-robin.
    const push = new zmq.Push({ linger: 5000, sendHighWaterMark: 0 });
    for (const e of endpoints) push.connect(e);
    for (const m of messages) await push.send(m);

    await Promise.all(gateways.map((g) => drained(g)));
    push.close();
    const acknowledged = await Promise.all(gateways.map((g) => scrape(g, 'zeek_gateway_sink_acknowledged_total', { sink: 'kafka' })));
    t.diagnostic(`${messages.length} batches, ${lines.length} records; delivered per gateway: ${acknowledged.join(', ')}`);
    for (const [i, n] of acknowledged.entries()) assert.ok(n > 0, `gateway ${i} took a share of the batches`);
    assert.equal(acknowledged[0]! + acknowledged[1]!, lines.length, 'together they delivered every record');

    const got = await collectKafka(topic, { count: lines.length, timeoutMs: 30_000 });
    assert.equal(await highWaterMark(topic), lines.length, 'no record written twice');
    const sorted = (xs: string[]) => [...xs].sort();
    assert.deepEqual(sorted(got.map((r) => r.value!.toString())), sorted(lines), 'every record once, byte-identical');
  } finally {
    for (const g of gateways) g.child.kill('SIGTERM');
    await Promise.all(gateways.map((g) => g.exited));
  }
});
