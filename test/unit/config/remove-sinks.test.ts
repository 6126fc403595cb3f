// A config file replaces the shipped default sinks and routes: `"sinks": {"name": null}`
// removes a sink an earlier file defined, `routing.routes` replaces the earlier routes, and a
// route that still names a removed or switched-off sink is an error naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'zlg-config-'));
let n = 0;
function file(config: unknown): string {
  const f = join(dir, `c${n++}.json`);
  writeFileSync(f, JSON.stringify(config));
  return f;
}

function problems(files: string[]): string[] {
  try {
    loadConfig(files, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const kafkaOnly = {
  sinks: { rabbitmq: null, kafka: { brokers: ['kafka:9092'] } },
  routing: { routes: [{ match: ['*'], destinations: [{ sink: 'kafka' }] }] },
};

test('"sinks": {"rabbitmq": null} removes the shipped RabbitMQ sink; routing.routes replaces the shipped routes', () => {
  const { config, redacted } = loadConfig([file(kafkaOnly)], {});
  assert.deepEqual(config.sinks.map((s) => s.name), ['kafka']);
  assert.deepEqual(config.routing.routes, kafkaOnly.routing.routes);
  assert.deepEqual(Object.keys(redacted().sinks as object), ['kafka']);
  // Without the file, both shipped sinks run.
  assert.deepEqual(loadConfig([], {}).config.sinks.map((s) => s.name), ['rabbitmq', 'kafka']);
});

test('a later file can define a removed sink again', () => {
  const again = file({ sinks: { rabbitmq: { type: 'amqp', url: 'amqp://rabbit:5672' } }, routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbitmq' }] }] } });
  const { config } = loadConfig([file(kafkaOnly), again], {});
  assert.deepEqual(config.sinks.map((s) => s.name).sort(), ['kafka', 'rabbitmq']);
});

test('routes that still name a removed sink: one problem per destination, naming the key and the file', () => {
  const f = file({ sinks: { rabbitmq: null } });
  assert.deepEqual(problems([f]), [
    `routing.routes[0].destinations[0].sink: sink "rabbitmq" is removed ("sinks": {"rabbitmq": null} in ${f}); set routing.routes (and routing.defaultRoute) without it`,
  ]);
  const dl = file({ ...kafkaOnly, deadLetter: { sink: 'rabbitmq' } });
  assert.match(problems([dl])[0]!, /^deadLetter\.sink: sink "rabbitmq" is removed/);
});

test('routes that name a switched-off sink say so', () => {
  assert.deepEqual(problems([file({ sinks: { kafka: { enabled: false } } })]), [
    'routing.routes[0].destinations[1].sink: sink "kafka" is switched off (sinks.kafka.enabled is false)',
  ]);
  assert.match(problems([file({ routing: { routes: [{ match: ['*'], destinations: [{ sink: 'nope' }] }] } })])[0]!, /destinations\[0\]\.sink: unknown sink "nope" \(configured: rabbitmq, kafka\)/);
});
