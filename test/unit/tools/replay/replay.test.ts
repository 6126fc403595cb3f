import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { exitCodeFor, paceFrom } from '../../../../src/tools/replay/command.js';
import { Pacer } from '../../../../src/tools/replay/pace.js';
import { RejectLog, formatSummary } from '../../../../src/tools/replay/report.js';
import { replay, ReplayError, type ReplayOptions, type ReplaySummary } from '../../../../src/tools/replay/index.js';
import { readLogLines, testdataPath } from '../../../helpers/testdata.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlg-replay-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

class Capture extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** A dry run: returns the summary, stdout lines and stderr text. */
async function dryRun(files: string[], extra: Partial<ReplayOptions> = {}) {
  const stdout = new Capture();
  let stderr = '';
  const summary = await replay({
    files,
    endpoint: 'tcp://127.0.0.1:1',
    pace: { mode: 'fast' },
    loops: 1,
    dryRun: true,
    sendHighWaterMark: 1000,
    subscribeTimeoutMs: 0,
    connectPauseMs: 0,
    lingerMs: 0,
    progress: false,
    stdout,
    stderr: { write: (t: string | Uint8Array) => ((stderr += String(t)), true) },
    ...extra,
  });
  const out = stdout.text().split('\n');
  out.pop();
  return { summary, out, stderr };
}

function fakeClock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

test('pacer: fast never waits; rate spaces records from the start', () => {
  const clock = fakeClock();
  assert.equal(new Pacer({ mode: 'fast' }, clock.now).delayFor(5), 0);
  const p = new Pacer({ mode: 'rate', perSecond: 10 }, clock.now);
  assert.deepEqual([p.delayFor(undefined), p.delayFor(undefined), p.delayFor(undefined)], [0, 100, 200]);
  clock.t += 150; // time passes: the 4th record is due at +300
  assert.equal(p.delayFor(undefined), 150);
  clock.t += 1000; // far behind: catch up without waiting
  assert.equal(p.delayFor(undefined), 0);
});

test('pacer: original pace follows ts, scaled by speed; each pass starts again', () => {
  const clock = fakeClock();
  const p = new Pacer({ mode: 'original', speed: 2 }, clock.now);
  assert.deepEqual([p.delayFor(100), p.delayFor(101), p.delayFor(100.5), p.delayFor(99), p.delayFor(undefined)], [0, 500, 250, 0, 0]);
  clock.t += 10_000;
  p.restart();
  assert.deepEqual([p.delayFor(500), p.delayFor(504)], [0, 2000]);
});

test('reject log: the first ones all, then one per interval; all counted', () => {
  const clock = fakeClock();
  const lines: string[] = [];
  const log = new RejectLog((t) => lines.push(t), 2, 1000, clock.now);
  const r = (line: number) => ({ file: 'f.log', line, reason: 'bad-json' as const, detail: 'x' });
  for (let i = 1; i <= 5; i++) log.add(r(i));
  clock.t += 1000;
  log.add({ ...r(6), reason: 'field-count' });
  log.add(r(7));
  assert.deepEqual(lines, ['f.log:1: rejected (bad-json): x\n', 'f.log:2: rejected (bad-json): x\n', 'f.log:6: rejected (field-count): x\n']);
  assert.equal(log.total, 7);
  assert.deepEqual([...log.byReason], [['bad-json', 6], ['field-count', 1]]);
});

test('summary text and exit codes', () => {
  const s: ReplaySummary = {
    records: 5,
    perPath: new Map([['http', 2], ['conn', 3]]),
    seconds: 2,
    rejected: 1,
    rejectedByReason: new Map([['bad-json', 1]]),
    fileErrors: [],
    unsubscribed: 0,
    interrupted: false,
  };
  assert.equal(
    formatSummary(s, 'tcp://127.0.0.1:12345'),
    'replayed 5 records in 2.00 s (3 records/s) to tcp://127.0.0.1:12345\n  conn  3\n  http  2\nrejected 1 lines:\n  bad-json  1\n',
  );
  assert.equal(exitCodeFor(s), 3);
  assert.equal(exitCodeFor({ ...s, rejected: 0 }), 0);
  assert.equal(exitCodeFor({ ...s, rejected: 0, unsubscribed: 2 }), 3);
  assert.equal(exitCodeFor({ ...s, rejected: 0, fileErrors: ['x: EIO'] }), 3);
  assert.equal(exitCodeFor({ ...s, interrupted: true }), 130);
  assert.deepEqual(paceFrom({ pace: 'fast', speed: 1, rate: 5 }), { mode: 'rate', perSecond: 5 });
  assert.deepEqual(paceFrom({ pace: 'original', speed: 3 }), { mode: 'original', speed: 3 });
  assert.throws(() => paceFrom({ pace: 'original', speed: 1, rate: 5 }), ReplayError);
});

test('dry run: path<TAB>json per record, files one after the other, counts per path', async () => {
  const tsv = testdataPath('cluster', 'wikipedia.logs', 'tsv', 'http.log');
  const json = testdataPath('ncsa', 'smtp.logs', 'smtp.log');
  const { summary, out, stderr } = await dryRun([tsv, json]);
  assert.equal(out.length, 14 + 2);
  assert.ok(out.slice(0, 14).every((l) => l.startsWith('http\t{"ts":')));
  assert.deepEqual(out.slice(14), readLogLines('ncsa', 'smtp.logs', 'smtp.log').map((l) => `smtp\t${l}`));
  assert.equal(summary.records, 16);
  assert.deepEqual([...summary.perPath], [['http', 14], ['smtp', 2]]);
  assert.equal(summary.rejected, 0);
  assert.equal(stderr, '');
});

test('--pace original merges several files by ts', async () => {
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  writeFileSync(a, ['{"ts":1.0,"n":"a1"}', '{"ts":4.0,"n":"a4"}', '{"ts":5.0,"n":"a5"}'].join('\n'));
  writeFileSync(b, ['{"x":0}', '{"ts":2.0,"n":"b2"}', '{"ts":3.0,"n":"b3"}', '{"ts":6.0,"n":"b6"}'].join('\n'));
  const merged = await dryRun([a, b], { pace: { mode: 'original', speed: 1e6 } });
  assert.deepEqual(
    merged.out.map((l) => l.split('\t')[1]),
    ['{"x":0}', '{"ts":1.0,"n":"a1"}', '{"ts":2.0,"n":"b2"}', '{"ts":3.0,"n":"b3"}', '{"ts":4.0,"n":"a4"}', '{"ts":5.0,"n":"a5"}', '{"ts":6.0,"n":"b6"}'],
  );
  const fast = await dryRun([a, b]);
  assert.deepEqual(fast.out.map((l) => l.split('\t')[0]), ['a', 'a', 'a', 'b', 'b', 'b', 'b']);
});

test('--rate paces the replay (a generous lower bound on elapsed time only)', async () => {
  const file = testdataPath('cluster', 'wikipedia.logs', 'tsv', 'dns.log'); // 34 records
  const started = performance.now();
  const { summary } = await dryRun([file], { pace: { mode: 'rate', perSecond: 100 } });
  const elapsed = (performance.now() - started) / 1000;
  assert.equal(summary.records, 34);
  assert.ok(elapsed >= 0.25, `34 records at 100/s took ${elapsed.toFixed(3)} s (at least 0.33 s expected)`);
});

test('--pace original waits for the gaps between records (lower bound only)', async () => {
  const file = join(dir, 'gaps.log');
  writeFileSync(file, ['{"ts":10.0}', '{"ts":10.2}', '{"ts":10.4}'].join('\n'));
  const started = performance.now();
  await dryRun([file], { pace: { mode: 'original', speed: 1 } });
  const elapsed = (performance.now() - started) / 1000;
  assert.ok(elapsed >= 0.3, `took ${elapsed.toFixed(3)} s, the records span 0.4 s`);
});

test('--loop repeats; bad lines are reported on stderr and counted, never fatal', async () => {
  const file = join(dir, 'conn.log');
  writeFileSync(file, '{"ts":1.0}\nnot json\n{"ts":2.0}\n');
  const { summary, out, stderr } = await dryRun([file], { loops: 3 });
  assert.equal(out.length, 6);
  assert.equal(summary.records, 6);
  assert.equal(summary.rejected, 3);
  assert.deepEqual([...summary.rejectedByReason], [['no-header', 3]]);
  assert.equal(stderr.split('\n').filter((l) => l.includes(`${file}:2: rejected (no-header)`)).length, 3);
});

test('an unreadable file is fatal before anything is sent; an abort interrupts', async () => {
  await assert.rejects(dryRun([join(dir, 'missing.log')]), (e: unknown) => e instanceof ReplayError && /cannot read .*missing\.log: ENOENT/.test(e.message));
  await assert.rejects(dryRun([dir]), /not a file/);
  const ac = new AbortController();
  ac.abort();
  const { summary } = await dryRun([testdataPath('cluster', 'wikipedia.logs', 'tsv', 'dns.log')], { signal: ac.signal });
  assert.equal(summary.interrupted, true);
  assert.equal(summary.records, 0);
});

test('--loop 0 repeats until interrupted, but stops when a pass has nothing to send', async () => {
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, 'junk\n');
  const { summary } = await dryRun([empty], { loops: 0 });
  assert.equal(summary.records, 0);
  assert.equal(summary.rejected, 1);

  const file = join(dir, 'one.log');
  writeFileSync(file, '{"ts":1.0}\n');
  const ac = new AbortController();
  let written = 0;
  const count = new Writable({
    write(_chunk, _enc, cb) {
      if (++written === 50) ac.abort(); // Ctrl-C after 50 records
      cb();
    },
  });
  const forever = await dryRun([file], { loops: 0, signal: ac.signal, stdout: count });
  assert.equal(forever.summary.interrupted, true);
  assert.ok(forever.summary.records >= 50);
});
