// Secrets never appear in check-config output, logs or metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { eventually, freePort } from '../helpers/gateway.js';
import { testdataPath } from '../helpers/testdata.js';

const keys = JSON.parse(readFileSync(testdataPath('cluster', 'curve-keys.json'), 'utf8')) as {
  server: { secret: string };
  client: { public: string };
};

test('passwords, SASL secrets and CURVE keys never show in check-config, logs or /metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-secrets-'));
  const secrets = {
    urlPassword: 'url-pw-7f3a9c',
    amqpPassword: 'amqp-pw-51be02',
    saslPassword: 'sasl-pw-c0ffee',
    fromFile: 'file-pw-9d8e7f',
    librdkafkaPassword: 'rdk-pw-4e1d2a',
  };
  writeFileSync(join(dir, 'pw'), `${secrets.fromFile}\n`);
  const httpPort = await freePort();
  const deadPort = await freePort();
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      http: { port: httpPort },
      shutdown: { lingerMs: 100 },
      ingress: {
        sub: { enabled: false },
        pull: {
          enabled: true,
          endpoints: [`tcp://127.0.0.1:${await freePort()}`],
          curve: { enabled: true, serverSecretKey: keys.server.secret, allowedClientKeys: [keys.client.public] },
        },
      },
      sinks: {
        rabbitmq: { url: `amqp://zeek:${secrets.urlPassword}@127.0.0.1:${deadPort}/` },
        other: { type: 'amqp', host: '127.0.0.1', port: deadPort, username: 'u', password: secrets.amqpPassword },
        filed: { type: 'amqp', host: '127.0.0.1', port: deadPort, passwordFile: join(dir, 'pw') },
        kafka: {
          brokers: [`127.0.0.1:${deadPort}`],
          sasl: { mechanism: 'scram-sha-512', username: 'zeek', password: secrets.saslPassword },
        },
      },
    }),
  );
  const all = [...Object.values(secrets), keys.server.secret];

  const check = runCli(['check-config', '--config', config]);
  const code = await check.exit;
  const checked = check.output();
  assert.equal(code, 0, checked);
  assert.match(checked, /\[Sensitive\]/);
  for (const s of all) assert.ok(!checked.includes(s), `check-config shows a secret: ${s}`);

  // A config from before node-rdkafka was retired, whose librdkafka properties carried credentials,
  // is refused (exit 2) naming both keys, without showing their values.
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ sinks: { kafka: { client: 'librdkafka', librdkafkaOptions: { 'sasl.password': secrets.librdkafkaPassword } } } }));
  const invalid = runCli(['check-config', '--config', bad]);
  const code2 = await invalid.exit;
  const refused = invalid.output();
  assert.equal(code2, 2, refused);
  assert.match(refused, /sinks\.kafka\.client: the librdkafka client .* was retired: use "platformatic" .* or "kafkajs"/);
  assert.match(refused, /sinks\.kafka\.librdkafkaOptions: was retired/);
  assert.ok(!refused.includes(secrets.librdkafkaPassword), `the error shows a secret: ${refused}`);

  // Running: every sink fails to connect and logs why; the secrets must not be in those lines.
  const run = runCli(['run', '--config', config], { ZLG_LOG_LEVEL: 'debug' });
  let up = false;
  void run.exit.then(() => (up = false));
  await eventually(
    async () => (up = (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status === 200),
    20_000,
    'the gateway serving /healthz',
  ).catch(async (err: Error) => {
    run.kill();
    await run.exit;
    throw new Error(`${err.message}\n${run.output()}`);
  });
  assert.ok(up);
  // Let every sink try (and fail) to connect at least once.
  await new Promise((r) => setTimeout(r, 3000));
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const ready = await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).text();
  run.kill();
  await run.exit;
  const logs = run.output();
  assert.match(logs, /cannot connect|ECONNREFUSED/i, 'the sinks did log their connection failures');
  for (const s of all) {
    assert.ok(!logs.includes(s), `logs show a secret: ${s}`);
    assert.ok(!metrics.includes(s), `metrics show a secret: ${s}`);
    assert.ok(!ready.includes(s), `/readyz shows a secret: ${s}`);
  }
});
