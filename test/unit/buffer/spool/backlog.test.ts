// The backlog marker (a spool directory naming older spool directories still to be delivered, written
// when a reload moves spool.dir) and the start that delivers them first: write/read/removal, torn and
// garbage markers, and the clean-up of directories that are gone or empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferedSink } from '../../../../src/buffer/buffered-sink.js';
import { HandedOverStore } from '../../../../src/buffer/handed-over-store.js';
import type { MessageStore } from '../../../../src/buffer/store.js';
import { recordBacklog, removeDelivered, withBacklog } from '../../../../src/buffer/spool/backlog.js';
import { MARKER_FILE, readMarker, writeMarker } from '../../../../src/buffer/spool/marker.js';
import { SpoolStore, type SpoolOptions } from '../../../../src/buffer/spool/store.js';
import { Metrics } from '../../../../src/ops/metrics.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { FakeTransport } from '../../../helpers/fake-transport.js';
import { captureLogger } from '../../../helpers/log.js';
import { message, payloads, unitBuffer, until } from '../../../helpers/records.js';

const root = () => mkdtempSync(join(tmpdir(), 'zlg-backlog-'));
const options = (dir: string): SpoolOptions => ({ dir, maxBytes: 1 << 20, segmentBytes: 4096, fsync: 'never', fsyncIntervalMs: 1000, memoryRecords: 4 });
const numbered = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A closed spool in `dir` holding `records` undelivered, as a stopped gateway leaves it. */
async function spoolWith(dir: string, records: readonly string[]): Promise<void> {
  const s = await SpoolStore.open(options(dir), { logger: silentLogger() });
  for (const p of records) s.push(message('conn', p));
  await s.close();
}

test('marker: written atomically with absolute directories, read back, removed when the list is empty', () => {
  const dir = root();
  assert.deepEqual(readMarker(dir), { kind: 'none' });
  writeMarker(dir, [join(dir, '..', 'a'), '/var/spool/b']);
  assert.deepEqual(readMarker(dir), { kind: 'dirs', dirs: [join(dir, '..', 'a'), '/var/spool/b'].map((d) => join(d)) });
  assert.deepEqual(readdirSync(dir), [MARKER_FILE], 'no temporary file left');
  writeMarker(dir, ['/var/spool/b']);
  assert.deepEqual(readMarker(dir), { kind: 'dirs', dirs: ['/var/spool/b'] });
  writeMarker(dir, []);
  assert.deepEqual(readdirSync(dir), [], 'an empty list removes the marker');
  assert.deepEqual(readMarker(dir), { kind: 'none' });
});

test('marker: a torn, garbage or foreign-format file reads as unreadable, never throws', () => {
  const dir = root();
  const whole = JSON.stringify({ version: 1, deliverFirst: ['/a/s', '/b/s'] });
  for (const text of [whole.slice(0, 20), '\u0000\u0000\u0000', '', 'null', '{"version":2,"deliverFirst":["/a"]}', '{"version":1,"deliverFirst":"/a"}', '{"version":1,"deliverFirst":[""]}']) {
    writeFileSync(join(dir, MARKER_FILE), text);
    assert.equal(readMarker(dir).kind, 'unreadable', JSON.stringify(text));
  }
});

test('marker: a write that fails is logged, not thrown', () => {
  const { logger, lines } = captureLogger('info');
  recordBacklog(join(root(), 'missing', 'dir'), ['/a/s'], logger);
  assert.ok(lines.some((l) => l.level === 'error' && l.msg.startsWith('spool backlog marker could not be written')), JSON.stringify(lines));
});

test('a spool directory with a marker delivers the directories it names first, in order, then its own; each is removed once delivered', async () => {
  const r = root();
  const [a, b, own] = [join(r, 'a', 's'), join(r, 'b', 's'), join(r, 'own', 's')];
  await spoolWith(a, numbered('a', 10));
  await spoolWith(b, numbered('b', 7));
  await spoolWith(own, numbered('own', 5));
  writeMarker(own, [a, b]);

  const { logger, lines } = captureLogger('info');
  const transport = new FakeTransport();
  const emptied: string[] = [];
  const onEmptied = async (s: MessageStore): Promise<void> => {
    emptied.push(...(await removeDelivered(s)));
  };
  const sink = new BufferedSink('s', 'fake', transport, unitBuffer, {
    metrics: new Metrics(),
    logger,
    openStore: async () => withBacklog(await SpoolStore.open(options(own), { logger }), { logger, busy: () => undefined, onEmptied }),
  });
  await sink.start();
  assert.deepEqual(sink.deliveringFrom, [a, b]);
  sink.offer(message('conn', 'new'));
  await until(() => transport.delivered.length === 23, 5000, 'all delivered');
  assert.deepEqual(payloads(transport.delivered), [...numbered('a', 10), ...numbered('b', 7), ...numbered('own', 5), 'new']);
  await until(() => emptied.length === 2, 2000, 'both older directories removed');
  assert.deepEqual(emptied, [a, b]);
  assert.equal(existsSync(a) || existsSync(b), false);
  assert.ok(lines.some((l) => l.msg.startsWith('delivering older spool directories first')));
  await sink.close();
});

test('a marker naming a directory that is gone, empty, listed twice or the spool itself is cleaned up with a log line; one still busy stays', async () => {
  const r = root();
  const [gone, empty, full, busy, own] = ['gone', 'empty', 'full', 'busy', 'own'].map((n) => join(r, n, 's')) as [string, string, string, string, string];
  await spoolWith(empty, []);
  writeFileSync(join(r, 'keep-me'), 'not a spool');
  await spoolWith(full, ['f0', 'f1']);
  mkdirSync(busy, { recursive: true });
  await spoolWith(own, []);
  writeMarker(own, [gone, empty, full, own, full, busy]);

  const { logger, lines } = captureLogger('info');
  const store = await withBacklog(await SpoolStore.open(options(own), { logger }), {
    logger,
    busy: (d) => (d === busy ? 'open elsewhere' : undefined),
    onEmptied: async () => undefined,
  });
  assert.ok(store instanceof HandedOverStore);
  assert.deepEqual(store.backlogDirs, [full], 'only the directory with records is delivered here');
  assert.equal(store.records, 2);
  assert.deepEqual(readMarker(own), { kind: 'dirs', dirs: [full, busy] }, 'the marker keeps what is still to deliver');
  assert.equal(existsSync(empty), false, 'the empty spool removed');
  assert.ok(existsSync(join(r, 'keep-me')));
  const said = (start: string) => lines.filter((l) => l.msg.startsWith(start)).map((l) => l.listed);
  assert.deepEqual(said('spool backlog marker names a directory that no longer exists'), [gone]);
  assert.deepEqual(said('spool backlog marker names a directory without records'), [empty]);
  assert.deepEqual(said('spool backlog marker names this directory itself or one twice'), [own, full]);
  assert.deepEqual(said('spool backlog directory not opened here'), [busy]);
  await store.close();
});

test('a marker that cannot be parsed is logged and left as it is; the spool opens with its own records', async () => {
  const own = join(root(), 's');
  await spoolWith(own, ['o0']);
  writeFileSync(join(own, MARKER_FILE), '{"version":1,"deliverFirst":["/a/s"'); // torn
  const { logger, lines } = captureLogger('info');
  const spool = await SpoolStore.open(options(own), { logger });
  const store = await withBacklog(spool, { logger, busy: () => undefined, onEmptied: async () => undefined });
  assert.equal(store, spool);
  assert.equal(store.records, 1);
  assert.equal(readFileSync(join(own, MARKER_FILE), 'utf8'), '{"version":1,"deliverFirst":["/a/s"', 'left untouched');
  assert.ok(lines.some((l) => l.level === 'error' && l.msg.startsWith('spool backlog marker cannot be read')));
  assert.equal(lines.filter((l) => /not the spool/.test(l.msg)).length, 0, 'the marker is not a foreign file to the spool');
  await store.close();
});

test('a spool directory removed once delivered takes its marker with it', async () => {
  const dir = join(root(), 's');
  await spoolWith(dir, []);
  writeMarker(dir, ['/old/s']);
  const s = await SpoolStore.open(options(dir), { logger: silentLogger() });
  await s.closeAndRemove();
  assert.equal(existsSync(dir), false);
});
