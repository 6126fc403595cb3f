// ZAP handler: the reply to every kind of request, and the handler answering over a real
// inproc socket even when the decision callback or the policy throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import * as zmq from 'zeromq';
import { ZAP_ENDPOINT, answerZapRequest, startZapHandler, type ZapClientPolicy, type ZapDecision } from '../../../../src/ingress/curve/zap.js';
import { z85Decode } from '../../../../src/ingress/curve/z85.js';
import { generateKeypair } from '../../../../src/ingress/curve/index.js';

const ALLOWED = generateKeypair().public;
const STRANGER = generateKeypair().public;
const policies = new Map<string, ZapClientPolicy>([
  ['pull', { allowAnyClient: false, allowedClientKeys: new Set([ALLOWED]) }],
  ['open', { allowAnyClient: true, allowedClientKeys: new Set() }],
]);
const policyFor = (d: string): ZapClientPolicy | undefined => policies.get(d);

/** A ZAP request as libzmq's curve_server sends it (after the REP envelope). */
function request(opts: { domain?: string; mechanism?: string; key?: string; version?: string; id?: string } = {}): Buffer[] {
  const frames: Buffer[] = [opts.version ?? '1.0', opts.id ?? '1', opts.domain ?? 'pull', '127.0.0.1', '', opts.mechanism ?? 'CURVE'].map((s) =>
    Buffer.from(s),
  );
  if ((opts.mechanism ?? 'CURVE') === 'CURVE') frames.push(z85Decode(opts.key ?? ALLOWED));
  return frames;
}

const status = (reply: (string | Buffer)[]): string => reply[2]!.toString();

test('answerZapRequest: 200 only for CURVE with an allowed key in the request domain', () => {
  const ok = answerZapRequest(request(), policyFor);
  assert.equal(ok.reply.length, 6);
  assert.deepEqual(ok.reply.map(String), ['1.0', '1', '200', 'OK', ALLOWED, '']);
  assert.deepEqual(ok.decision, {
    domain: 'pull',
    peerAddress: '127.0.0.1',
    mechanism: 'CURVE',
    clientKeyZ85: ALLOWED,
    allowed: true,
    reason: 'allowed',
  } satisfies ZapDecision);

  const cases: [Parameters<typeof request>[0], string][] = [
    [{ key: STRANGER }, 'unknown-key'],
    [{ mechanism: 'NULL' }, 'not-curve'],
    [{ mechanism: 'PLAIN' }, 'not-curve'],
    [{ domain: 'other' }, 'unknown-domain'],
    [{ domain: '' }, 'unknown-domain'],
    [{ version: '2.0' }, 'bad-request'],
  ];
  for (const [opts, reason] of cases) {
    const r = answerZapRequest(request(opts), policyFor);
    assert.equal(status(r.reply), '400', reason);
    assert.equal(r.decision.allowed, false);
    assert.equal(r.decision.reason, reason);
    assert.equal(r.reply[1]!.toString(), '1', 'request id echoed');
  }
  const unknown = answerZapRequest(request({ key: STRANGER }), policyFor);
  assert.equal(unknown.decision.clientKeyZ85, STRANGER);
});

test('answerZapRequest: allowAnyClient accepts any CURVE key but still not NULL', () => {
  const r = answerZapRequest(request({ domain: 'open', key: STRANGER }), policyFor);
  assert.equal(status(r.reply), '200');
  assert.equal(r.decision.reason, 'any-client');
  assert.equal(status(answerZapRequest(request({ domain: 'open', mechanism: 'NULL' }), policyFor).reply), '400');
});

test('answerZapRequest: malformed requests and a throwing policy still get a 400 with the request id', () => {
  const short = answerZapRequest([Buffer.from('1.0'), Buffer.from('7')], policyFor);
  assert.deepEqual(short.reply.map(String), ['1.0', '7', '400', 'Invalid ZAP request', '', '']);
  const badKey = request();
  badKey[6] = Buffer.alloc(31);
  assert.equal(answerZapRequest(badKey, policyFor).decision.reason, 'bad-request');
  assert.equal(answerZapRequest([], policyFor).reply.length, 6);

  const throwing: ZapClientPolicy = {
    allowAnyClient: false,
    allowedClientKeys: {
      has() {
        throw new Error('boom');
      },
    } as unknown as ReadonlySet<string>,
  };
  const r = answerZapRequest(request({ id: '42' }), () => throwing);
  assert.deepEqual(r.reply.map(String), ['1.0', '42', '400', 'Internal error', '', '']);
  assert.equal(r.decision.reason, 'handler-error');
  assert.equal(r.decision.allowed, false);
});

/** Sends one ZAP request to the handler like libzmq would, bounded in time. */
async function ask(context: zmq.Context, frames: Buffer[]): Promise<string[]> {
  const req = new zmq.Request({ context, linger: 0, receiveTimeout: 2000, sendTimeout: 2000 });
  try {
    req.connect(ZAP_ENDPOINT);
    await req.send(frames);
    return (await req.receive()).map(String);
  } finally {
    req.close();
  }
}

test('handler answers every request even when onDecision throws or the policy throws', { timeout: 10_000 }, async (t) => {
  const context = new zmq.Context();
  const decisions: ZapDecision[] = [];
  const zap = await startZapHandler({
    context,
    onDecision: (d) => {
      decisions.push(d);
      throw new Error('metrics exploded');
    },
  });
  t.after(() => zap.stop());
  zap.addDomain('pull', policies.get('pull')!);
  zap.addDomain('boom', {
    allowAnyClient: false,
    allowedClientKeys: {
      has() {
        throw new Error('boom');
      },
    } as unknown as ReadonlySet<string>,
  });

  assert.equal((await ask(context, request()))[2], '200');
  assert.equal((await ask(context, request({ key: STRANGER })))[2], '400');
  assert.equal((await ask(context, request({ domain: 'boom' })))[2], '400');
  assert.equal((await ask(context, request({ mechanism: 'NULL' })))[2], '400');
  assert.equal((await ask(context, request()))[2], '200', 'still answering after all that');
  assert.equal(zap.answered, 5);
  assert.deepEqual(
    decisions.map((d) => d.reason),
    ['allowed', 'unknown-key', 'handler-error', 'not-curve', 'allowed'],
  );
});

test('handler survives a rejecting async onDecision and logs refusals rate-limited', { timeout: 10_000 }, async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  const context = new zmq.Context();
  const zap = await startZapHandler({ context, logger: pino({ level: 'info' }, sink), onDecision: async () => Promise.reject(new Error('nope')) });
  t.after(() => zap.stop());
  zap.addDomain('pull', policies.get('pull')!);
  for (let i = 0; i < 3; i++) assert.equal((await ask(context, request({ key: STRANGER })))[2], '400');
  assert.equal((await ask(context, request()))[2], '200');
  await new Promise((r) => setTimeout(r, 20));
  const refused = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('CURVE handshake refused'));
  assert.equal(refused.length, 1, 'three refusals of the same key and peer give one line');
  assert.equal(refused[0]!.clientKeyZ85, STRANGER);
  assert.equal(refused[0]!.peerAddress, '127.0.0.1');
  assert.equal(refused[0]!.domain, 'pull');
  assert.ok(lines.some((l) => l.msg === 'ZAP decision callback threw; the reply was sent anyway'));
});

test('one handler per context; domains are unique; stop() is idempotent', { timeout: 10_000 }, async () => {
  const context = new zmq.Context();
  const zap = await startZapHandler({ context });
  await assert.rejects(startZapHandler({ context }), /already bound to inproc:\/\/zeromq\.zap\.01 in this ZeroMQ context/);
  const other = await startZapHandler({ context: new zmq.Context() });
  await other.stop();

  const release = zap.addDomain('pull', policies.get('pull')!);
  assert.throws(() => zap.addDomain('pull', policies.get('open')!), /already registered/);
  assert.throws(() => zap.addDomain('', policies.get('open')!), /must not be empty/);
  release();
  assert.equal(zap.hasDomain('pull'), false);
  zap.addDomain('pull', policies.get('open')!);
  await zap.stop();
  await zap.stop();
  // The endpoint is free again: a new handler can take over the context.
  const again = await startZapHandler({ context });
  await again.stop();
});
