// CURVE keys and config: Z85, the server public key derived from the secret (checked against
// keys Zeek generated), keygen, the convict fragment and the resolver's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import convict from 'convict';
import { z85Decode, z85Encode } from '../../../../src/ingress/curve/z85.js';
import {
  CurveConfigError,
  ZEEK_ENV,
  curveKeyProblem,
  curvePublicKeyFromSecret,
  curveSchema,
  describeCurveConfig,
  generateKeypair,
  parseKeyFile,
  resolveCurveConfig,
  type CurveServerConfig,
} from '../../../../src/ingress/curve/index.js';
import { readTestFile } from '../../../helpers/testdata.js';

interface Pair {
  public: string;
  secret: string;
}
const ZEEK_KEYS = JSON.parse(readTestFile('cluster', 'curve-keys.json').toString('utf8')) as { server: Pair; client: Pair };

test('z85: RFC 32 test vector', () => {
  const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), 'HelloWorld');
  assert.deepEqual(z85Decode('HelloWorld'), bytes);
});

test('z85: round trip of random data and edge values', () => {
  for (let i = 0; i < 200; i++) {
    const data = randomBytes(4 * (i % 12));
    assert.deepEqual(z85Decode(z85Encode(data)), data);
  }
  assert.equal(z85Encode(Buffer.alloc(4)), '00000');
  assert.equal(z85Encode(Buffer.alloc(4, 0xff)), '%nSc0');
  assert.deepEqual(z85Decode('%nSc0'), Buffer.alloc(4, 0xff));
});

test('z85: rejects bad lengths, characters and overflowing groups', () => {
  assert.throws(() => z85Encode(Buffer.alloc(3)), /multiple of 4/);
  assert.throws(() => z85Decode('abcd'), /multiple of 5/);
  assert.throws(() => z85Decode('abc"e'), /position 3 is not in the Z85 alphabet/);
  assert.throws(() => z85Decode('abcdé'), /not in the Z85 alphabet/);
  assert.throws(() => z85Decode('#####'), /exceeds 32 bits/); // 85^5 - 1 > 2^32 - 1
});

test('z85: the Zeek keys decode to 32 bytes and re-encode unchanged', () => {
  for (const key of [ZEEK_KEYS.server.public, ZEEK_KEYS.server.secret, ZEEK_KEYS.client.public, ZEEK_KEYS.client.secret]) {
    assert.equal(curveKeyProblem(key), null);
    const raw = z85Decode(key);
    assert.equal(raw.length, 32);
    assert.equal(z85Encode(raw), key);
  }
});

test('derived public keys equal the ones Zeek generated (server and client pair)', () => {
  assert.equal(curvePublicKeyFromSecret(ZEEK_KEYS.server.secret), ZEEK_KEYS.server.public);
  assert.equal(curvePublicKeyFromSecret(ZEEK_KEYS.client.secret), ZEEK_KEYS.client.public);
});

test('generateKeypair: Z85 pairs whose public key matches the secret, like generate_keypair()', () => {
  const a = generateKeypair();
  const b = generateKeypair();
  assert.deepEqual(Object.keys(a).sort(), ['public', 'secret']);
  assert.equal(curveKeyProblem(a.public), null);
  assert.equal(curveKeyProblem(a.secret), null);
  assert.equal(curvePublicKeyFromSecret(a.secret), a.public);
  assert.notEqual(a.secret, b.secret);
  // What the keygen command prints must parse back.
  assert.deepEqual(JSON.parse(JSON.stringify(a)), a);
});

test('curveKeyProblem names the problem without echoing the key', () => {
  assert.match(curveKeyProblem('short')!, /40-character.*got 5/);
  const bad = 'HIN$c6>+=GRn7.^+oYx{L=jqkEoFSs)m??OCiy"P';
  const problem = curveKeyProblem(bad)!;
  assert.match(problem, /not valid Z85/);
  assert.ok(!problem.includes(bad));
  assert.match(curveKeyProblem(42)!, /must be a string/);
});

function resolveOn(cfg: Parameters<typeof resolveCurveConfig>[0], env: NodeJS.ProcessEnv = {}): CurveServerConfig {
  const r = resolveCurveConfig(cfg, env, { setting: 'ingress.pull.curve' });
  assert.equal(r.enabled, true);
  return r as CurveServerConfig;
}

function problemsOf(fn: () => unknown): CurveConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CurveConfigError, `expected CurveConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a CurveConfigError');
}

test('resolve: config keys; derives the server public key; hides the secret from logs', () => {
  const r = resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowedClientKeys: [ZEEK_KEYS.client.public] });
  assert.equal(r.serverSecretKey, ZEEK_KEYS.server.secret);
  assert.equal(r.serverPublicKey, ZEEK_KEYS.server.public);
  assert.deepEqual([...r.allowedClientKeys], [ZEEK_KEYS.client.public]);
  assert.equal(r.allowAnyClient, false);
  assert.equal(r.serverSecretKeySource, 'ingress.pull.curve.serverSecretKey');
  assert.ok(!JSON.stringify(r).includes(ZEEK_KEYS.server.secret));
  assert.ok(!JSON.stringify(describeCurveConfig(r)).includes(ZEEK_KEYS.server.secret));
  assert.equal(describeCurveConfig(r).serverPublicKey, ZEEK_KEYS.server.public);
});

test("resolve: Zeek's environment variable names give the secret and an allowed client", () => {
  const env = {
    [ZEEK_ENV.serverSecretKey]: ZEEK_KEYS.server.secret,
    [ZEEK_ENV.clientPublicKey]: `${ZEEK_KEYS.client.public}\n`,
    [ZEEK_ENV.serverPublicKey]: ZEEK_KEYS.server.public,
  };
  assert.equal(ZEEK_ENV.serverSecretKey, 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_SECRETKEY');
  assert.equal(ZEEK_ENV.clientPublicKey, 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY');
  const r = resolveOn({ enabled: true }, env);
  assert.equal(r.serverPublicKey, ZEEK_KEYS.server.public);
  assert.equal(r.serverSecretKeySource, ZEEK_ENV.serverSecretKey);
  assert.deepEqual([...r.allowedClientKeys], [ZEEK_KEYS.client.public]);

  // The env client key is added to the configured ones; the same secret in both places is fine.
  const other = generateKeypair().public;
  const both = resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowedClientKeys: [other] }, env);
  assert.deepEqual([...both.allowedClientKeys].sort(), [other, ZEEK_KEYS.client.public].sort());
});

test('resolve: env and config disagreeing on the secret, or a wrong server public key in env, are errors', () => {
  const e1 = problemsOf(() =>
    resolveOn(
      { enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowedClientKeys: [ZEEK_KEYS.client.public] },
      { [ZEEK_ENV.serverSecretKey]: ZEEK_KEYS.client.secret },
    ),
  );
  assert.equal(e1.problems[0]!.setting, ZEEK_ENV.serverSecretKey);
  assert.match(e1.message, /differs from ingress\.pull\.curve\.serverSecretKey/);
  assert.ok(!e1.message.includes(ZEEK_KEYS.server.secret) && !e1.message.includes(ZEEK_KEYS.client.secret));

  const e2 = problemsOf(() =>
    resolveOn(
      { enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowedClientKeys: [ZEEK_KEYS.client.public] },
      { [ZEEK_ENV.serverPublicKey]: ZEEK_KEYS.client.public },
    ),
  );
  assert.equal(e2.problems[0]!.setting, ZEEK_ENV.serverPublicKey);
  assert.match(e2.message, /does not belong to the server secret/);
});

test('resolve: bad keys give errors naming the setting', () => {
  const e = problemsOf(() =>
    resolveOn(
      { enabled: true, serverSecretKey: 'not-a-key', allowedClientKeys: [ZEEK_KEYS.client.public, 'x'.repeat(39)] },
      { [ZEEK_ENV.clientPublicKey]: 'HIN$c6>+=GRn7.^+oYx{L=jqkEoFSs)m??OCiy"P' },
    ),
  );
  const settings = e.problems.map((p) => p.setting);
  assert.deepEqual(settings, ['ingress.pull.curve.serverSecretKey', 'ingress.pull.curve.allowedClientKeys[1]', ZEEK_ENV.clientPublicKey]);
  assert.match(e.message, /ingress\.pull\.curve\.serverSecretKey: must be a 40-character Z85 CURVE key, got 9/);
  assert.ok(!e.message.includes('not-a-key'), 'the (secret) value is not echoed');

  const e2 = problemsOf(() => resolveOn({ enabled: true, allowedClientKeys: [ZEEK_KEYS.client.public] }, { [ZEEK_ENV.serverSecretKey]: 'short' }));
  assert.equal(e2.problems[0]!.setting, ZEEK_ENV.serverSecretKey);
});

test('resolve: missing secret, both secret settings, empty allowlist, allowAnyClient with keys', () => {
  const noSecret = problemsOf(() => resolveOn({ enabled: true, allowedClientKeys: [ZEEK_KEYS.client.public] }));
  assert.match(noSecret.message, /no server secret key is set/);

  const twoSecrets = problemsOf(() =>
    resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, serverSecretKeyFile: '/x', allowedClientKeys: [ZEEK_KEYS.client.public] }),
  );
  assert.match(twoSecrets.message, /serverSecretKey: set both this and ingress\.pull\.curve\.serverSecretKeyFile/);

  const empty = problemsOf(() => resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret }));
  assert.equal(empty.problems[0]!.setting, 'ingress.pull.curve.allowedClientKeys');
  assert.match(empty.message, /allowAnyClient: true explicitly/);

  const any = resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowAnyClient: true });
  assert.equal(any.allowAnyClient, true);
  assert.equal(any.allowedClientKeys.size, 0);
  assert.ok(any.warnings.some((w) => /allowAnyClient is true: traffic is encrypted but any client/.test(w)));

  const anyWithKeys = problemsOf(() =>
    resolveOn({ enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowAnyClient: true }, { [ZEEK_ENV.clientPublicKey]: ZEEK_KEYS.client.public }),
  );
  assert.equal(anyWithKeys.problems[0]!.setting, 'ingress.pull.curve.allowAnyClient');
});

test('resolve: disabled ignores keys, but warns when Zeek CURVE variables are set', () => {
  const off = resolveCurveConfig({ enabled: false }, {});
  assert.deepEqual(off, { enabled: false, warnings: [] });
  const warned = resolveCurveConfig({}, { [ZEEK_ENV.serverSecretKey]: ZEEK_KEYS.server.secret }, { setting: 'ingress.pull.curve' });
  assert.equal(warned.enabled, false);
  assert.match(warned.warnings[0]!, /ingress\.pull\.curve\.enabled is false although Zeek's CURVE variables are set/);
});

test('resolve: key files (secret trimmed, allowlist with comments)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-curve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'server.secret');
  writeFileSync(secretFile, `\n  ${ZEEK_KEYS.server.secret}  \n`);
  chmodSync(secretFile, 0o600);
  const other = generateKeypair().public;
  const keysFile = join(dir, 'clients');
  writeFileSync(
    keysFile,
    ['# Zeek workers', '', `${ZEEK_KEYS.client.public}   # worker-1`, `  ${other}`, '#----- end -----', ''].join('\r\n'),
  );
  const r = resolveOn({ enabled: true, serverSecretKeyFile: secretFile, allowedClientKeysFile: keysFile });
  assert.equal(r.serverPublicKey, ZEEK_KEYS.server.public);
  assert.equal(r.serverSecretKeySource, 'ingress.pull.curve.serverSecretKeyFile');
  assert.deepEqual([...r.allowedClientKeys], [ZEEK_KEYS.client.public, other]);
  assert.deepEqual(r.warnings, []);

  chmodSync(secretFile, 0o644);
  const loose = resolveOn({ enabled: true, serverSecretKeyFile: secretFile, allowedClientKeysFile: keysFile });
  assert.ok(loose.warnings.some((w) => /readable by group or others/.test(w)));

  writeFileSync(keysFile, `${ZEEK_KEYS.client.public}\nnot-a-key\n`);
  const bad = problemsOf(() => resolveOn({ enabled: true, serverSecretKeyFile: secretFile, allowedClientKeysFile: keysFile }));
  assert.equal(bad.problems[0]!.setting, `ingress.pull.curve.allowedClientKeysFile (${keysFile}:2)`);

  const missing = problemsOf(() => resolveOn({ enabled: true, serverSecretKeyFile: join(dir, 'nope'), allowAnyClient: true }));
  assert.equal(missing.problems[0]!.setting, 'ingress.pull.curve.serverSecretKeyFile');
  assert.match(missing.message, /cannot read/);
});

test('parseKeyFile: comment and key rules; no Z85 key can start with #', () => {
  assert.deepEqual(parseKeyFile('# a\n\n  key1 trailing words\n#x\n'), [{ line: 3, key: 'key1' }]);
  // The largest 4-byte group encodes to '%nSc0': a group's first digit is at most '%' (82).
  assert.equal(z85Encode(Buffer.alloc(32, 0xff))[0], '%');
});

test('convict schema: defaults, validation errors name the setting, the secret stays masked', () => {
  const cfg = convict({ ingress: { pull: { curve: curveSchema } } });
  assert.deepEqual(cfg.get('ingress.pull.curve'), {
    enabled: false,
    serverSecretKey: '',
    serverSecretKeyFile: '',
    allowedClientKeys: [],
    allowedClientKeysFile: '',
    allowAnyClient: false,
  });
  cfg.load({ ingress: { pull: { curve: { enabled: true, serverSecretKey: ZEEK_KEYS.server.secret, allowedClientKeys: [ZEEK_KEYS.client.public] } } } });
  cfg.validate({ allowed: 'strict' });
  assert.ok(!cfg.toString().includes(ZEEK_KEYS.server.secret));
  const r = resolveCurveConfig(cfg.get('ingress.pull.curve'), {});
  assert.equal(r.enabled && r.serverPublicKey, ZEEK_KEYS.server.public);

  const bad = convict({ ingress: { pull: { curve: curveSchema } } });
  bad.load({ ingress: { pull: { curve: { serverSecretKey: 'abc', allowedClientKeys: [ZEEK_KEYS.client.public, 'x'] } } } });
  assert.throws(
    () => bad.validate({ allowed: 'strict' }),
    (err: Error) =>
      /ingress\.pull\.curve\.serverSecretKey: must be a 40-character/.test(err.message) &&
      /ingress\.pull\.curve\.allowedClientKeys: \[1\] must be a 40-character/.test(err.message) &&
      !err.message.includes('"abc"'),
  );
});
