// Configuration loading: default.json, then each --config file in order, then the environment;
// every problem named by its key; the CLI exits 2 on invalid configuration.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, deepMerge } from '../../../src/config/load.js';
import { envName } from '../../../src/config/env.js';
import { runCli } from '../../helpers/cli.js';

function files(t: TestContext, ...contents: unknown[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return contents.map((c, i) => {
    const f = join(dir, `${i}.json`);
    writeFileSync(f, typeof c === 'string' ? c : JSON.stringify(c));
    return f;
  });
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the configuration to be refused');
}

const sink = (config: ReturnType<typeof loadConfig>['config'], name: string) => {
  const s = config.sinks.find((x) => x.name === name);
  assert.ok(s, `sink ${name}`);
  return s;
};

test('defaults come from config/default.json', () => {
  const { config } = loadConfig([], {});
  assert.equal(config.http.port, 9275);
  assert.deepEqual(config.ingress.sub.endpoints, ['tcp://127.0.0.1:12345']);
  assert.equal(sink(config, 'rabbitmq').type, 'amqp');
  assert.deepEqual(sink(config, 'kafka').addressing, { topic: 'zeek-{path}', keyField: '' });
});

test('merge order: later files win, objects merge key by key, arrays are replaced; the environment wins over all', (t) => {
  const [a, b] = files(
    t,
    { http: { port: 1001, host: '0.0.0.0' }, sinks: { rabbitmq: { heartbeat: 5 } }, routing: { exclude: ['weird', 'loaded_scripts'] } },
    { http: { port: 1002 }, sinks: { rabbitmq: { routingKey: 'zeek.{path}' } }, routing: { exclude: ['x509'] } },
  );
  const { config } = loadConfig([a as string, b as string], {});
  assert.equal(config.http.port, 1002, 'the later file wins');
  assert.equal(config.http.host, '0.0.0.0', 'a key only the earlier file sets stays');
  const rabbit = sink(config, 'rabbitmq');
  assert.equal(rabbit.options.heartbeat, 5, 'file 1 changed one option of a default sink');
  assert.deepEqual(rabbit.addressing, { exchange: 'zeek', routingKey: 'zeek.{path}' }, 'file 2 another; default.json the rest');
  assert.equal(rabbit.options.url, 'amqp://guest:guest@127.0.0.1:5672');
  assert.deepEqual(config.routing.exclude, ['x509'], 'arrays are replaced, not merged');

  const env = { ZLG_HTTP_PORT: '1003', ZLG_SINK_RABBITMQ_HEARTBEAT: '7', ZLG_SINK_RABBITMQ_ROUTING_KEY: 'env.{path}' };
  const fromEnv = loadConfig([a as string, b as string], env).config;
  assert.equal(fromEnv.http.port, 1003);
  assert.equal(sink(fromEnv, 'rabbitmq').options.heartbeat, 7);
  assert.equal(sink(fromEnv, 'rabbitmq').addressing.routingKey, 'env.{path}');
});

test('environment names: ZLG_ plus the key path in upper snake case; sinks by name; lists comma-separated', () => {
  assert.equal(envName('ingress', 'sub', 'receiveHighWaterMark'), 'ZLG_INGRESS_SUB_RECEIVE_HIGH_WATER_MARK');
  assert.equal(envName('sink', 'rabbitmq', 'password'), 'ZLG_SINK_RABBITMQ_PASSWORD');
  const { config } = loadConfig([], {
    ZLG_LOG_LEVEL: 'debug',
    ZLG_INGRESS_SUB_ENDPOINTS: 'tcp://127.0.0.1:1,tcp://127.0.0.1:2',
    ZLG_SINK_KAFKA_BROKERS: 'a:9092,b:9092',
    ZLG_SINK_KAFKA_BUFFER_MAX_RECORDS: '123',
    ZLG_SINK_KAFKA_SASL_MECHANISM: 'plain',
    ZLG_SINK_KAFKA_SASL_USERNAME: 'u',
  });
  assert.equal(config.log.level, 'debug');
  assert.deepEqual(config.ingress.sub.endpoints, ['tcp://127.0.0.1:1', 'tcp://127.0.0.1:2']);
  const kafka = sink(config, 'kafka');
  assert.equal(kafka.options.brokers, 'a:9092,b:9092');
  assert.equal(kafka.buffer.maxRecords, 123);
  assert.deepEqual(kafka.options.sasl, { mechanism: 'plain', username: 'u', password: '', passwordFile: '' });
});

test('every problem is reported at once, each naming its key', (t) => {
  const [bad] = files(t, {
    http: { port: 'eighty' },
    colour: 'blue',
    sinks: {
      rabbitmq: { heartbeat: -1, exchange: 5 },
      k: { type: 'kafka', idempotent: true },
      '9x': { type: 'console' },
      w: { type: 'carrier-pigeon' },
    },
    routing: { routes: [{ match: ['conn'], destinations: [{ sink: 'nope', topic: '{host}' }] }] },
    deadLetter: { sink: 'gone' },
  });
  const problems = problemsOf(() => loadConfig([bad as string], {}));
  for (const expected of [
    /^http\.port: /,
    /^colour: unknown key$/,
    /^sinks\.rabbitmq\.heartbeat: /,
    /^sinks\.rabbitmq\.exchange: /,
    /^sinks\.k\.maxInFlightRequests: must be 1 when idempotent is true$/,
    /^sinks\.9x: a sink name starts with a letter/,
    /^sinks\.w\.type: must be one of amqp, kafka, console$/,
    /^routing\.routes\[0\]\.destinations\[0\]\.sink: unknown sink "nope"/,
    /^routing\.routes\[0\]\.destinations\[0\]\.topic: unknown template variable \{host\}$/,
    /^deadLetter\.sink: unknown sink "gone"/,
  ]) {
    assert.ok(problems.some((p) => expected.test(p)), `${expected} in:\n${problems.join('\n')}`);
  }
});

test('environment values are validated like file values, named by key', () => {
  const problems = problemsOf(() => loadConfig([], { ZLG_SINK_KAFKA_ACKS: '2', ZLG_HTTP_PORT: 'x' }));
  assert.ok(problems.some((p) => /^sinks\.kafka\.acks: must be -1 \(all\), 0 or 1/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /^http\.port: /.test(p)), problems.join('\n'));
});

test('a file that is missing or not a JSON object is named', (t) => {
  const [notJson, array] = files(t, '{ "http": ', '[1]');
  const missing = join(tmpdir(), 'zlg-no-such-config.json');
  const problems = problemsOf(() => loadConfig([notJson as string, array as string, missing], {}));
  assert.equal(problems.length, 3);
  assert.match(problems[0] as string, new RegExp(`^${notJson}: .*JSON`));
  assert.match(problems[1] as string, /must hold a JSON object$/);
  assert.match(problems[2] as string, /ENOENT/);
});

test('deepMerge: objects merge, everything else is replaced, the inputs stay untouched', () => {
  const base = { a: { x: 1, y: [1, 2] }, b: 1 };
  const out = deepMerge(base, { a: { y: [3] }, c: null });
  assert.deepEqual(out, { a: { x: 1, y: [3] }, b: 1, c: null });
  assert.deepEqual(base, { a: { x: 1, y: [1, 2] }, b: 1 });
  assert.throws(() => deepMerge({}, 'text'), /must hold a JSON object/);
});

test('the CLI exits 2 on invalid configuration, naming the keys on stderr; 0 on a valid one', async (t) => {
  const [bad, good] = files(t, { http: { port: -5 }, sinks: { kafka: { acks: 3 } } }, { http: { port: 9999 } });
  const r = runCli(['check-config', '--config', bad as string]);
  assert.equal(await r.exit, 2, r.output());
  const stderr = r.logs.map((l) => String(l.msg)).join('\n');
  assert.match(stderr, /invalid configuration/);
  assert.match(stderr, /http\.port: /);
  assert.match(stderr, /sinks\.kafka\.acks: /);
  const ok = runCli(['check-config', '--config', good as string]);
  assert.equal(await ok.exit, 0, ok.output());
  assert.match(ok.stdout(), /"port": 9999/);
});

test('the retired librdkafka client: a config naming it is refused (exit 2), saying so and what to use; kafkajs and platformatic load', async (t) => {
  const retired = /^sinks\.kafka\.client: the librdkafka client \(node-rdkafka, a native build\) was retired: use "platformatic" \(the default.*\) or "kafkajs"/;
  for (const client of ['librdkafka', 'rdkafka', 'node-rdkafka']) {
    const [file] = files(t, { sinks: { kafka: { client } } });
    const problems = problemsOf(() => loadConfig([file as string], {}));
    assert.ok(problems.some((p) => retired.test(p)), problems.join('\n'));
  }
  const fromEnv = problemsOf(() => loadConfig([], { ZLG_SINK_KAFKA_CLIENT: 'librdkafka' }));
  assert.ok(fromEnv.some((p) => retired.test(p)), fromEnv.join('\n'));
  // Its free-form property map (dotted names, possibly a password) is named, never shown.
  const [props] = files(t, { sinks: { kafka: { librdkafkaOptions: { 'linger.ms': 2, 'sasl.password': 'pw-8c1f' } } } });
  const refused = problemsOf(() => loadConfig([props as string], {}));
  assert.deepEqual(refused.filter((p) => p.includes('librdkafkaOptions')).length, 1, refused.join('\n'));
  assert.match(refused.join('\n'), /^sinks\.kafka\.librdkafkaOptions: was retired with the librdkafka client \(node-rdkafka\): remove it/m);
  assert.ok(!refused.join('\n').includes('pw-8c1f'), 'the value is not shown');
  for (const client of ['kafkajs', 'platformatic']) {
    assert.equal(sink(loadConfig([], { ZLG_SINK_KAFKA_CLIENT: client }).config, 'kafka').options.client, client);
  }
  assert.equal(sink(loadConfig([], {}).config, 'kafka').options.client, 'platformatic', 'the default');

  const [bad] = files(t, { sinks: { kafka: { client: 'librdkafka' } } });
  const r = runCli(['check-config', '--config', bad as string]);
  assert.equal(await r.exit, 2, r.output());
  assert.match(r.logs.map((l) => String(l.msg)).join('\n'), /sinks\.kafka\.client: the librdkafka client .* was retired: use "platformatic"/);
});

test("the PULL ingress's field-name map: names to non-empty new names, from a file or the environment as JSON", (t) => {
  const [bad] = files(t, { ingress: { pull: { json: { fieldNameMap: { uid: 5, 'id.orig_h': '' } } } } });
  const problems = problemsOf(() => loadConfig([bad as string], {}));
  assert.ok(problems.some((p) => /^ingress\.pull\.json\.fieldNameMap: must map field names to non-empty new names/.test(p)), problems.join('\n'));
  // Zeek's own example maps the dotted name: convict must not split it into nested settings.
  const [good] = files(t, { ingress: { pull: { json: { fieldNameMap: { 'id.orig_h': 'src_ip', uid: 'zeek_uid' } } } } });
  const loaded = loadConfig([good as string], {});
  assert.deepEqual(loaded.config.ingress.pull.json.fieldNameMap, { 'id.orig_h': 'src_ip', uid: 'zeek_uid' });
  assert.deepEqual((loaded.redacted().ingress as { pull: { json: unknown } }).pull.json, { timestamps: 'epoch', includeUnsetFields: false, scopeSeparator: '.', fieldNameMap: { 'id.orig_h': 'src_ip', uid: 'zeek_uid' } });
  assert.deepEqual(loadConfig([], {}).config.ingress.pull.json.fieldNameMap, {});
  const fromEnv = loadConfig([], { ZLG_INGRESS_PULL_JSON_FIELD_NAME_MAP: '{"id.orig_h":"src_ip"}' }).config;
  assert.deepEqual(fromEnv.ingress.pull.json.fieldNameMap, { 'id.orig_h': 'src_ip' });
  const notJson = problemsOf(() => loadConfig([], { ZLG_INGRESS_PULL_JSON_FIELD_NAME_MAP: 'src_ip' }));
  assert.ok(notJson.some((p) => p.startsWith('ingress.pull.json.fieldNameMap: ')), notJson.join('\n'));
});
