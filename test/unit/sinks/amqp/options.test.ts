// The amqp sink's options: the convict schema and the connection targets built from them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import convict from 'convict';
import { amqpSchema, amqpTargets, defaultAmqpOptions, type AmqpOptions } from '../../../../src/sinks/amqp/options.js';

function options(over: Partial<AmqpOptions> = {}): AmqpOptions {
  return { ...defaultAmqpOptions(), ...over };
}

describe('amqp options', () => {
  it('validates with convict: defaults, URL lists, bad URLs without echoing them', () => {
    const c = convict(amqpSchema);
    c.load({ url: ['amqp://u:p@a:5672/', 'amqps://b'] });
    c.validate({ allowed: 'strict' });
    const bad = convict(amqpSchema);
    bad.load({ url: 'http://user:secret@host' });
    assert.throws(() => bad.validate({ allowed: 'strict' }), (e: Error) => /amqp:\/\//.test(e.message) && !e.message.includes('secret'));
    const badType = convict(amqpSchema);
    badType.load({ declareExchange: { type: 'weird' } });
    assert.throws(() => badType.validate({ allowed: 'strict' }));
  });

  it('marks the secrets sensitive', () => {
    const c = convict(amqpSchema);
    c.load({ url: 'amqp://u:topsecret@h/', password: 'hunter2' });
    const shown = c.toString();
    assert.ok(!shown.includes('topsecret') && !shown.includes('hunter2'));
  });

  it('builds targets from URLs: vhost, credentials, heartbeat, TLS port, password-free labels', () => {
    const [a, b, c] = amqpTargets(
      options({ url: 'amqp://alice:s%40cret@h1:5673/%2Fprod?heartbeat=5, amqps://h2, amqp://h3/v', heartbeat: 30 }),
    );
    assert.deepEqual(a?.connect, {
      protocol: 'amqp',
      hostname: 'h1',
      port: 5673,
      vhost: '/prod',
      username: 'alice',
      password: 's@cret',
      heartbeat: 5,
    });
    assert.equal(b?.connect.port, 5671);
    assert.equal(b?.connect.protocol, 'amqps');
    assert.equal(b?.connect.vhost, '/');
    assert.equal(b?.connect.username, 'guest');
    assert.equal(c?.connect.vhost, 'v');
    assert.equal(c?.connect.heartbeat, 30);
    assert.ok(!a?.label.includes('cret'));
  });

  it('builds a target from host/port/credentials, with TLS and a password file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-amqp-'));
    writeFileSync(join(dir, 'pw'), 'fromfile\n');
    const [t] = amqpTargets(
      options({
        host: 'rabbit',
        username: 'zeek',
        passwordFile: join(dir, 'pw'),
        tls: { ...defaultAmqpOptions().tls, enabled: true },
      }),
    );
    assert.equal(t?.connect.protocol, 'amqps');
    assert.equal(t?.connect.port, 5671);
    assert.equal(t?.connect.password, 'fromfile');
    assert.equal(t?.connect.username, 'zeek');
  });
});
