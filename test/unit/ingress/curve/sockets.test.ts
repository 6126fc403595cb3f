// CURVE ingress end to end over real ZeroMQ sockets on 127.0.0.1 (random ports), with the keys
// Zeek generated: allowed clients deliver to CURVE PULL and SUB servers; unknown keys and
// plaintext clients deliver nothing and are reported; allowlists are per socket; a ZAP handler
// that has gone away fails closed. Clients live in their own context, as a remote Zeek would.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import * as zmq from 'zeromq';
import {
  applyCurveServer,
  generateKeypair,
  resolveCurveConfig,
  startZapHandler,
  type CurveServerConfig,
  type ZapDecision,
  type ZapHandler,
} from '../../../../src/ingress/curve/index.js';
import { monitorSocketEvents, type IngressSocketEvent } from '../../../../src/ingress/socket-events.js';
import { readTestFile } from '../../../helpers/testdata.js';

interface Pair {
  public: string;
  secret: string;
}
const ZEEK = JSON.parse(readTestFile('cluster', 'curve-keys.json').toString('utf8')) as { server: Pair; client: Pair };

const NOTHING_MS = 600; // how long "delivers nothing" waits

/** Polls `check` until it returns a value, failing (not hanging) after `ms`. */
async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next message, or null if none arrives within `ms`. */
async function receiveWithin(sock: zmq.Pull | zmq.Subscriber, ms: number): Promise<string[] | null> {
  sock.receiveTimeout = ms;
  try {
    return (await sock.receive()).map(String);
  } catch (err) {
    if ((err as { code?: string }).code === 'EAGAIN') return null;
    throw err;
  }
}

interface Gateway {
  context: zmq.Context;
  zap: ZapHandler;
  decisions: ZapDecision[];
}

async function gateway(t: TestContext): Promise<Gateway> {
  const context = new zmq.Context();
  const decisions: ZapDecision[] = [];
  const zap = await startZapHandler({ context, onDecision: (d) => void decisions.push(d) });
  t.after(() => zap.stop());
  return { context, zap, decisions };
}

function curveConfig(allowed: string[]): CurveServerConfig {
  const c = resolveCurveConfig({ enabled: true, serverSecretKey: ZEEK.server.secret, allowedClientKeys: allowed }, {});
  assert.ok(c.enabled);
  return c;
}

interface Server<S extends zmq.Pull | zmq.Subscriber> {
  sock: S;
  endpoint: string;
  events: IngressSocketEvent[];
}

async function server<S extends zmq.Pull | zmq.Subscriber>(
  t: TestContext,
  gw: Gateway,
  sock: S,
  allowed: string[],
  zapDomain: string,
): Promise<Server<S>> {
  const events: IngressSocketEvent[] = [];
  const monitor = monitorSocketEvents(sock, (e) => events.push(e));
  const binding = applyCurveServer(sock, { curve: curveConfig(allowed), zap: gw.zap, zapDomain });
  assert.equal(binding.failClosed, true);
  await sock.bind('tcp://127.0.0.1:*');
  t.after(() => {
    monitor.stop();
    sock.close();
    binding.release();
  });
  return { sock, endpoint: sock.lastEndpoint!, events };
}

const clientContext = new zmq.Context();

function curveClient<S extends zmq.Push | zmq.Publisher>(t: TestContext, sock: S, keys: Pair | null, endpoint: string): S {
  if (keys) {
    sock.curveServerKey = ZEEK.server.public;
    sock.curvePublicKey = keys.public;
    sock.curveSecretKey = keys.secret;
  }
  sock.connect(endpoint);
  t.after(() => sock.close());
  return sock;
}
const push = (t: TestContext, keys: Pair | null, endpoint: string): zmq.Push =>
  curveClient(t, new zmq.Push({ context: clientContext, linger: 0 }), keys, endpoint);

test('a PUSH client with the allowed Zeek client key delivers to a CURVE PULL server', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const srv = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull');
  const client = push(t, ZEEK.client, srv.endpoint);
  await client.send(['log-write', 'zeek/worker-1', 'zeek-bin-serializer', 'payload']);
  assert.deepEqual(await receiveWithin(srv.sock, 3000), ['log-write', 'zeek/worker-1', 'zeek-bin-serializer', 'payload']);
  assert.equal(srv.sock.securityMechanism, 'curve');
  assert.deepEqual(gw.decisions, [
    { domain: 'pull', peerAddress: '127.0.0.1', mechanism: 'CURVE', clientKeyZ85: ZEEK.client.public, allowed: true, reason: 'allowed' },
  ]);
  await waitFor('handshake event', () => srv.events.some((e) => e.kind === 'handshake'));
  assert.ok(srv.events.some((e) => e.kind === 'accept' && e.endpoint === srv.endpoint));
});

test('a PUB client with the allowed key delivers to a bound CURVE SUB server', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const sub = new zmq.Subscriber({ context: gw.context, linger: 0 });
  sub.subscribe();
  const srv = await server(t, gw, sub, [ZEEK.client.public], 'sub');
  const pub = curveClient(t, new zmq.Publisher({ context: clientContext, linger: 0 }), ZEEK.client, srv.endpoint);
  // PUB drops messages until the subscription has crossed the (encrypted) connection: resend.
  let got: string[] | null = null;
  for (let i = 0; i < 40 && got === null; i++) {
    await pub.send(['conn', '{"ts":1.0}']);
    got = await receiveWithin(srv.sock, 50);
  }
  assert.deepEqual(got, ['conn', '{"ts":1.0}']);
  assert.equal(gw.decisions[0]?.domain, 'sub');
  assert.equal(gw.decisions[0]?.allowed, true);
});

test('a client with an unknown key delivers nothing and is reported with its key and address', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const srv = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull');
  const stranger = generateKeypair();
  const client = push(t, stranger, srv.endpoint);
  const clientAuthFailure = new Promise<unknown>((resolve) => client.events.on('handshake:error:auth', resolve));
  void client.send('should never arrive');
  const refused = await waitFor('a refused ZAP decision', () => gw.decisions.find((d) => !d.allowed));
  assert.deepEqual(refused, {
    domain: 'pull',
    peerAddress: '127.0.0.1',
    mechanism: 'CURVE',
    clientKeyZ85: stranger.public,
    allowed: false,
    reason: 'unknown-key',
  });
  const ev = await waitFor('server handshake:error:auth', () => srv.events.find((e) => e.kind === 'handshake:error:auth'));
  assert.equal(ev.authStatus, 400);
  // The sender sees the 400 too (a Zeek sender exits on this event: wire-format doc §7.4).
  const clientEvent = (await Promise.race([clientAuthFailure, new Promise((r) => setTimeout(() => r(null), 3000))])) as {
    error?: { status?: number };
  } | null;
  assert.equal(clientEvent?.error?.status, 400);
  assert.equal(await receiveWithin(srv.sock, NOTHING_MS), null);
});

test('a plaintext (NULL) client delivers nothing, is reported as a handshake failure, and never reaches ZAP', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const srv = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull');
  const client = push(t, null, srv.endpoint);
  void client.send('plaintext');
  const failure = await waitFor('a handshake failure', () => srv.events.find((e) => e.kind.startsWith('handshake:error')));
  // Both ends detect the mechanism mismatch; when the client hangs up first the server sees
  // only the broken pipe (libzmq 4.3.5: about half the time). Either way it is counted.
  assert.ok(
    (failure.kind === 'handshake:error:protocol' && failure.errorCode === 'ERR_ZMTP_MECHANISM_MISMATCH') ||
      failure.kind === 'handshake:error:other',
    JSON.stringify(failure),
  );
  assert.equal(await receiveWithin(srv.sock, NOTHING_MS), null);
  assert.deepEqual(gw.decisions, []);
});

test('a plaintext ZMTP greeting is reported as handshake:error:protocol (mechanism mismatch)', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const srv = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull');
  const [, host, port] = /^tcp:\/\/(.+):(\d+)$/.exec(srv.endpoint)!;
  // ZMTP 3.0 greeting of a NULL client, sent whole and kept open, so the server always gets
  // to read the mechanism (a real client may hang up before that).
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting.write('NULL', 12, 'latin1');
  const raw = connect(Number(port), host!);
  t.after(() => raw.destroy());
  raw.on('error', () => {});
  raw.write(greeting);
  const failure = await waitFor('handshake:error:protocol', () => srv.events.find((e) => e.kind === 'handshake:error:protocol'));
  assert.equal(failure.errorCode, 'ERR_ZMTP_MECHANISM_MISMATCH');
  assert.equal(failure.endpoint, srv.endpoint, 'libzmq reports the local endpoint, not the peer');
});

test('two CURVE sockets with different allowlists are enforced separately', { timeout: 15_000 }, async (t) => {
  const gw = await gateway(t);
  const other = generateKeypair();
  const a = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull-a');
  const b = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [other.public], 'pull-b');

  void push(t, ZEEK.client, a.endpoint).send('zeek->a');
  void push(t, other, b.endpoint).send('other->b');
  void push(t, ZEEK.client, b.endpoint).send('zeek->b');
  void push(t, other, a.endpoint).send('other->a');

  assert.deepEqual(await receiveWithin(a.sock, 3000), ['zeek->a']);
  assert.deepEqual(await receiveWithin(b.sock, 3000), ['other->b']);
  await waitFor('four ZAP decisions', () => gw.decisions.length >= 4);
  assert.equal(await receiveWithin(a.sock, NOTHING_MS), null);
  assert.equal(await receiveWithin(b.sock, 100), null);
  const seen = gw.decisions.map((d) => `${d.domain} ${d.clientKeyZ85 === ZEEK.client.public ? 'zeek' : 'other'} ${d.allowed}`).sort();
  assert.deepEqual(seen, ['pull-a other false', 'pull-a zeek true', 'pull-b other true', 'pull-b zeek false']);
});

test('allowAnyClient (Stonehouse) accepts an unknown CURVE key', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const curve = resolveCurveConfig({ enabled: true, serverSecretKey: ZEEK.server.secret, allowAnyClient: true }, {});
  assert.ok(curve.enabled);
  const sock = new zmq.Pull({ context: gw.context, linger: 0 });
  const binding = applyCurveServer(sock, { curve, zap: gw.zap, zapDomain: 'open' });
  await sock.bind('tcp://127.0.0.1:*');
  t.after(() => {
    sock.close();
    binding.release();
  });
  void push(t, generateKeypair(), sock.lastEndpoint!).send('anyone');
  assert.deepEqual(await receiveWithin(sock, 3000), ['anyone']);
  assert.equal(gw.decisions[0]?.reason, 'any-client');
});

test('after the ZAP handler stops, handshakes fail closed instead of accepting anyone', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const srv = await server(t, gw, new zmq.Pull({ context: gw.context, linger: 0 }), [ZEEK.client.public], 'pull');
  await gw.zap.stop();
  void push(t, ZEEK.client, srv.endpoint).send('no handler, no entry');
  const failure = await waitFor('handshake failure', () => srv.events.find((e) => e.kind.startsWith('handshake:error')));
  assert.equal(failure.kind, 'handshake:error:other');
  assert.equal(await receiveWithin(srv.sock, NOTHING_MS), null);
});

test('applyCurveServer refuses a foreign context, a bound socket and a reused domain', { timeout: 10_000 }, async (t) => {
  const gw = await gateway(t);
  const curve = curveConfig([ZEEK.client.public]);
  const foreign = new zmq.Pull({ linger: 0 }); // default context, not the handler's
  t.after(() => foreign.close());
  assert.throws(() => applyCurveServer(foreign, { curve, zap: gw.zap, zapDomain: 'x' }), /different ZeroMQ contexts/);

  const bound = new zmq.Pull({ context: gw.context, linger: 0 });
  t.after(() => bound.close());
  await bound.bind('tcp://127.0.0.1:*');
  assert.throws(() => applyCurveServer(bound, { curve, zap: gw.zap, zapDomain: 'x' }), /before bind\(\)/);

  const first = new zmq.Pull({ context: gw.context, linger: 0 });
  const second = new zmq.Pull({ context: gw.context, linger: 0 });
  t.after(() => {
    first.close();
    second.close();
  });
  applyCurveServer(first, { curve, zap: gw.zap, zapDomain: 'same' });
  assert.throws(() => applyCurveServer(second, { curve, zap: gw.zap, zapDomain: 'same' }), /already used/);
  assert.throws(() => applyCurveServer(second, { curve, zap: gw.zap, zapDomain: '' }), /must not be empty/);
});
