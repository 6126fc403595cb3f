// What a reload must do: sinks added, removed or replaced, ingresses re-bound, restart-only keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffConfig } from '../../../src/config/diff.js';
import { loadConfig, type GatewayConfig } from '../../../src/config/load.js';
import { generateKeypair } from '../../../src/ingress/curve/index.js';

function load(config: object): GatewayConfig {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-diff-')), 'c.json');
  writeFileSync(file, JSON.stringify(config));
  return loadConfig([file], {}).config;
}

const base = {
  sinks: {
    rabbitmq: { enabled: false },
    kafka: { enabled: false },
    a: { type: 'console', file: '/tmp/a' },
    b: { type: 'console', file: '/tmp/b' },
  },
  routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'a' }, { sink: 'b' }] }] },
};

test('the same configuration: nothing to do', () => {
  const d = diffConfig(load(base), load(base));
  assert.deepEqual(d, { sinks: { added: [], removed: [], replaced: [] }, ingress: [], logLevel: false, restartOnly: [], changed: false });
});

test('a route change touches no sink', () => {
  const d = diffConfig(load(base), load({ ...base, routing: { routes: [{ name: 'all', match: ['conn'], destinations: [{ sink: 'a' }] }] } }));
  assert.deepEqual(d.sinks, { added: [], removed: [], replaced: [] });
  assert.equal(d.changed, true);
});

test('sinks: added, removed, replaced on a connection or buffer change, kept on an addressing change', () => {
  const next = load({
    ...base,
    sinks: {
      ...base.sinks,
      a: { type: 'console', file: '/tmp/a', envelope: 'raw' },
      b: { type: 'console', enabled: false },
      c: { type: 'console', file: '/tmp/c', buffer: { maxRecords: 5 } },
    },
    routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'a' }, { sink: 'c' }] }] },
  });
  const d = diffConfig(load(base), next);
  assert.deepEqual(d.sinks.added.map((s) => s.name), ['c']);
  assert.deepEqual(d.sinks.removed, ['b']);
  assert.deepEqual(d.sinks.replaced, [], 'an envelope change is the routing table’s');
  const d2 = diffConfig(load(base), load({ ...base, sinks: { ...base.sinks, a: { type: 'console', file: '/tmp/a2' } } }));
  assert.deepEqual(d2.sinks.replaced.map((s) => s.name), ['a']);
  const d3 = diffConfig(load(base), load({ ...base, sinks: { ...base.sinks, b: { type: 'console', file: '/tmp/b', buffer: { maxRecords: 7 } } } }));
  assert.deepEqual(d3.sinks.replaced.map((s) => s.name), ['b']);
});

test('ingress endpoints re-bound; http only on restart; log level applied', () => {
  const d = diffConfig(
    load(base),
    load({ ...base, ingress: { sub: { endpoints: ['tcp://127.0.0.1:23456'] } }, http: { port: 9999 }, log: { level: 'debug' } }),
  );
  assert.deepEqual(d.ingress, ['sub']);
  assert.deepEqual(d.restartOnly, ['http']);
  assert.equal(d.logLevel, true);
});

test('CURVE: a changed allowlist or secret in the key files re-binds the ingress (same settings, new file contents)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-diff-curve-'));
  const secretFile = join(dir, 'server.secret');
  const keysFile = join(dir, 'clients');
  const [server, other, one, two] = [generateKeypair(), generateKeypair(), generateKeypair(), generateKeypair()];
  const config = { ...base, ingress: { pull: { enabled: true, curve: { enabled: true, serverSecretKeyFile: secretFile, allowedClientKeysFile: keysFile } } } };
  writeFileSync(secretFile, server.secret);
  writeFileSync(keysFile, `${one.public}\n`);
  const running = load(config);
  assert.deepEqual(diffConfig(running, load(config)).ingress, [], 'the same files: nothing to re-bind');
  writeFileSync(keysFile, `${one.public}\n${two.public}\n`);
  assert.deepEqual(diffConfig(running, load(config)).ingress, ['pull'], 'a key added to the allowlist');
  writeFileSync(keysFile, `${one.public}\n`);
  writeFileSync(secretFile, other.secret);
  assert.deepEqual(diffConfig(running, load(config)).ingress, ['pull'], 'a new server key');
});
