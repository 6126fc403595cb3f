// zeromq.js 6.8 runs unbind() on a worker thread; a receive() in flight meanwhile let two threads
// work on one libzmq socket, which aborted the process (pipe.cpp assertions). The ingress and the
// ZAP handler unbind only while no receive is in flight. bench/zmq-unbind-race.ts is the stress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Receiver, RECEIVE_TIMEOUT_MS, type ReceivingSocket } from '../../../src/ingress/receiver.js';
import { ZmqIngress, ingressSocketOptions } from '../../../src/ingress/zmq-ingress.js';
import { ncsaHandler } from '../../../src/ingress/ncsa.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import type { LogRecord } from '../../../src/record.js';
import { closeNow, freePort } from '../../helpers/gateway.js';
import { eventually } from '../../helpers/wait.js';

/** What WatchedPull saw (zeromq.js seals its sockets: no fields of their own). */
const watched = { inFlight: 0, unbindsDuringReceive: [] as string[], unbound: [] as string[] };

/** A real PULL socket that notes whether a receive() was in flight whenever unbind() was called. */
class WatchedPull extends zmq.Pull {
  override receive(): Promise<Buffer[]> {
    watched.inFlight++;
    const settle = (): void => void watched.inFlight--;
    const p = super.receive();
    p.then(settle, settle);
    return p;
  }
  override unbind(address: string): Promise<void> {
    if (watched.inFlight > 0) watched.unbindsDuringReceive.push(address);
    watched.unbound.push(address);
    return super.unbind(address);
  }
}

test('the PULL ingress unbinds only while no receive() is in flight, and still routes what was queued', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const context = new zmq.Context();
  const socket = new WatchedPull(ingressSocketOptions({ receiveHighWaterMark: 1000, maxMessageSize: 1 << 20 }, { context }));
  const routed: LogRecord[] = [];
  const ingress = new ZmqIngress({
    name: 'pull',
    socket,
    endpoints: [endpoint],
    mode: 'bind',
    handler: ncsaHandler('pull', 'structural', 1 << 20),
    router: { route: (r) => void routed.push(r), mustWait: () => false, whenWritable: () => Promise.resolve() },
    metrics: new Metrics(),
    logger: silentLogger(),
  });
  await ingress.start();
  const push = new zmq.Push({ linger: 0 });
  try {
    push.connect(endpoint);
    for (let i = 0; i < 20; i++) await push.send(['conn', `{"n":${i}}`]);
    await eventually(() => routed.length === 20, 5000, 'first records routed');
    // The loop is now parked in a receive(): the old stop() unbound right there.
    assert.equal(watched.inFlight, 1, 'a receive is waiting when stop() begins');
    await ingress.stop(1000);
    assert.deepEqual(watched.unbound, [endpoint]);
    assert.deepEqual(watched.unbindsDuringReceive, [], 'unbind() ran while a receive() was in flight');
    assert.equal(routed.length, 20);
    assert.ok(socket.closed);
  } finally {
    closeNow(push);
  }
});

test('an idle receive ends within the receive timeout, as a timeout (not a failure)', async () => {
  const pull = new zmq.Pull({ linger: 0, receiveTimeout: RECEIVE_TIMEOUT_MS });
  try {
    await pull.bind('tcp://127.0.0.1:*');
    const receiver = new Receiver(pull);
    const started = performance.now();
    await assert.rejects(receiver.receive(), (err) => receiver.timedOut(err));
    const waited = performance.now() - started;
    assert.ok(waited >= RECEIVE_TIMEOUT_MS * 0.8 && waited < RECEIVE_TIMEOUT_MS + 1000, `waited ${waited} ms`);
  } finally {
    pull.close();
  }
});

/** A socket whose receive() and unbind() the test settles by hand, logging the order of calls. */
function fakeSocket(): ReceivingSocket & { log: string[]; deliver(): void; timeOut(): void; finishUnbind(): void } {
  const log: string[] = [];
  let receiving: { resolve(f: Buffer[]): void; reject(e: Error): void } | undefined;
  let unbinding: (() => void) | undefined;
  return {
    log,
    closed: false,
    receive() {
      log.push('receive');
      return new Promise<Buffer[]>((resolve, reject) => (receiving = { resolve, reject }));
    },
    unbind(ep) {
      log.push(`unbind ${ep}`);
      return new Promise<void>((resolve) => (unbinding = resolve));
    },
    deliver() {
      log.push('delivered');
      receiving!.resolve([Buffer.from('m')]);
    },
    timeOut() {
      log.push('timed out');
      receiving!.reject(Object.assign(new Error('timeout'), { code: 'EAGAIN' }));
    },
    finishUnbind() {
      log.push('unbound');
      unbinding!();
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('Receiver: an unbind waits for the receive in flight, and the next receive waits for the unbind', async () => {
  const socket = fakeSocket();
  const receiver = new Receiver(socket);
  const first = receiver.receive();
  first.catch(() => undefined);
  const unbound = receiver.unbind(['tcp://a', 'tcp://b']);
  await turn();
  assert.deepEqual(socket.log, ['receive'], 'no unbind while the receive is in flight');
  socket.timeOut();
  await assert.rejects(first, (err) => receiver.timedOut(err), 'a timeout is an empty turn, not a failure');
  await turn();
  assert.deepEqual(socket.log, ['receive', 'timed out', 'unbind tcp://a']);
  const second = receiver.receive();
  await turn();
  assert.deepEqual(socket.log.at(-1), 'unbind tcp://a', 'no receive while the unbind runs');
  socket.finishUnbind();
  await turn();
  socket.finishUnbind();
  await unbound;
  await turn();
  assert.deepEqual(socket.log, ['receive', 'timed out', 'unbind tcp://a', 'unbound', 'unbind tcp://b', 'unbound', 'receive']);
  socket.deliver();
  assert.deepEqual(await second, [Buffer.from('m')]);
});
