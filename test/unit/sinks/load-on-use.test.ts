// A gateway imports the client library of a sink kind only when a sink of that kind (and, for
// Kafka, that client) is configured: each library costs resident memory whether used or not.
import { registerHooks } from 'node:module';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLIENTS = ['@platformatic/kafka', 'kafkajs', 'amqplib'];
const loaded = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    if (CLIENTS.includes(specifier)) loaded.add(specifier);
    return next(specifier, context);
  },
});

// Imported after the hook is in place (nothing above imports a client).
const { loadConfig } = await import('../../../src/config/load.js');
const { Gateway } = await import('../../../src/gateway.js');
const { Metrics } = await import('../../../src/ops/metrics.js');
const { silentLogger } = await import('../../../src/ops/log.js');

async function build(sinks: Record<string, unknown>, dryRun = false): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-load-')), 'config.json');
  const off = { enabled: false };
  const routing = { routes: [{ name: 'all', match: ['*'], destinations: Object.keys(sinks).map((sink) => ({ sink })) }], defaultRoute: null };
  writeFileSync(file, JSON.stringify({ http: { enabled: false }, sinks: { rabbitmq: off, kafka: off, ...sinks }, routing }));
  await Gateway.create(loadConfig([file], {}).config, new Metrics(), silentLogger(), dryRun);
}

// One process: each case adds to what the earlier ones loaded, so they run in this order.
describe('sink client libraries load on use', () => {
  it('a console sink alone loads no broker client', async () => {
    await build({ out: { type: 'console', file: '/dev/null' } });
    assert.deepEqual([...loaded], []);
  });

  it('a dry run loads none either, whatever the sinks', async () => {
    await build({ k: { type: 'kafka', brokers: ['127.0.0.1:9'] }, r: { type: 'amqp', url: 'amqp://127.0.0.1:9' } }, true);
    assert.deepEqual([...loaded], []);
  });

  it('a Kafka sink with the kafkajs client loads kafkajs and nothing else', async () => {
    await build({ k: { type: 'kafka', client: 'kafkajs', brokers: ['127.0.0.1:9'] } });
    assert.deepEqual([...loaded], ['kafkajs']);
  });

  it('a Kafka sink with the default client loads @platformatic/kafka, an AMQP sink amqplib', async () => {
    await build({ k: { type: 'kafka', brokers: ['127.0.0.1:9'] }, r: { type: 'amqp', url: 'amqp://127.0.0.1:9' } });
    assert.deepEqual([...loaded].sort(), ['@platformatic/kafka', 'amqplib', 'kafkajs']);
  });
});
