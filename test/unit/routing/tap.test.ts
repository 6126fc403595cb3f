// The live tap's hub: filters, the rate cap, the limit, and a slow client that never blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tap, type TapOutput, type TapPlan } from '../../../src/routing/tap.js';
import type { LogRecord } from '../../../src/record.js';

function output(): TapOutput & { lines: () => Array<Record<string, unknown>>; ended: boolean; queued: number } {
  const chunks: string[] = [];
  const o = {
    ended: false,
    queued: 0,
    write: (c: string) => chunks.push(c),
    end: () => (o.ended = true),
    get writableLength() {
      return o.queued;
    },
    lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  return o;
}

const rec = (path: string, uid: string, sender?: string): LogRecord => ({
  path,
  json: Buffer.from(JSON.stringify({ uid, 'id.orig_h': '10.0.0.1' })),
  sender,
  ingress: 'pull',
  receivedAt: 0,
});
const toBoth: TapPlan = {
  path: 'conn',
  destinations: [
    { sink: 'rabbitmq', target: 'zeek', routingKey: 'conn', route: 'everything' },
    { sink: 'kafka', target: 'zeek-conn', route: 'everything' },
  ],
};
const dnsToKafka: TapPlan = { path: 'dns', destinations: [{ sink: 'kafka', target: 'zeek-dns', route: 'dns-only' }] };
const unrouted: TapPlan = { path: 'weird', destinations: [], unrouted: 'no-route' };

test('inactive until a client attaches, and again after it detaches', () => {
  const tap = new Tap();
  assert.equal(tap.active, false);
  const detach = tap.attach({ limit: 0, ratePerSecond: 100 }, output());
  assert.equal(tap.active, true);
  detach();
  assert.equal(tap.active, false);
});

test('a line says where the record went and carries the record as Zeek wrote it', () => {
  const tap = new Tap(() => 0);
  const out = output();
  tap.attach({ limit: 0, ratePerSecond: 10 }, out);
  tap.offer(rec('conn', 'C1', 'zeromq_worker-1_host_123_abc'), toBoth);
  tap.offer(rec('weird', 'C2'), unrouted);
  const [first] = out.lines();
  assert.deepEqual(first, {
    path: 'conn',
    rawPath: 'conn',
    ingress: 'pull',
    sender: 'zeromq_worker-1_host_123_abc',
    routes: ['everything'],
    destinations: [
      { sink: 'rabbitmq', target: 'zeek', routingKey: 'conn', route: 'everything' },
      { sink: 'kafka', target: 'zeek-conn', route: 'everything' },
    ],
    unrouted: null,
    skipped: 0,
    record: { uid: 'C1', 'id.orig_h': '10.0.0.1' },
  });
});

test('filters: path glob, route name, sink name', () => {
  const tap = new Tap(() => 0);
  const byPath = output();
  const byRoute = output();
  const bySink = output();
  tap.attach({ path: 'dn*', limit: 0, ratePerSecond: 100 }, byPath);
  tap.attach({ route: 'everything', limit: 0, ratePerSecond: 100 }, byRoute);
  tap.attach({ sink: 'kafka', limit: 0, ratePerSecond: 100 }, bySink);
  tap.offer(rec('conn', 'C1'), toBoth);
  tap.offer(rec('dns', 'D1'), dnsToKafka);
  tap.offer(rec('weird', 'W1'), unrouted);
  const uids = (o: ReturnType<typeof output>) => o.lines().map((l) => (l.record as { uid: string }).uid);
  assert.deepEqual(uids(byPath), ['D1']);
  assert.deepEqual(uids(byRoute), ['C1']);
  assert.deepEqual(uids(bySink), ['C1', 'D1']);
});

test('rate cap: at most the rate per second; skipped records are counted in the next line', () => {
  let now = 0;
  const tap = new Tap(() => now);
  const out = output();
  tap.attach({ limit: 0, ratePerSecond: 5 }, out);
  // 100 records per second for 3 seconds.
  for (let i = 0; i < 300; i++) {
    now = i * 10;
    tap.offer(rec('conn', `C${i}`), toBoth);
  }
  const lines = out.lines();
  // A full bucket (one second's worth) at the start, then 5 per second.
  assert.ok(lines.length >= 19 && lines.length <= 21, `${lines.length} lines in 3 s at 5/s`);
  const skipped = lines.reduce((n, l) => n + (l.skipped as number), 0);
  // Every record is either shown or counted (the ones after the last line are pending).
  assert.ok(skipped + lines.length <= 300 && skipped + lines.length > 300 - 25, `shown ${lines.length} + skipped ${skipped}`);
});

test('limit: the stream ends after N lines and the client is detached', () => {
  const tap = new Tap(() => 0);
  const out = output();
  tap.attach({ limit: 2, ratePerSecond: 1000 }, out);
  for (let i = 0; i < 10; i++) tap.offer(rec('conn', `C${i}`), toBoth);
  assert.equal(out.lines().length, 2);
  assert.equal(out.ended, true);
  assert.equal(tap.active, false);
});

test('a client that does not read is skipped, not waited for', () => {
  const tap = new Tap(() => 0);
  const out = output();
  tap.attach({ limit: 0, ratePerSecond: 1000 }, out);
  tap.offer(rec('conn', 'C0'), toBoth);
  out.queued = 10 * 1024 * 1024;
  for (let i = 1; i < 5; i++) tap.offer(rec('conn', `C${i}`), toBoth);
  out.queued = 0;
  tap.offer(rec('conn', 'C5'), toBoth);
  const lines = out.lines();
  assert.deepEqual(lines.map((l) => (l.record as { uid: string }).uid), ['C0', 'C5']);
  assert.equal(lines[1]!.skipped, 4);
});
