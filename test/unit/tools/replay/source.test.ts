import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isGzip, lines, pathFromFileName, readLogFile, type Rejected, type SourceRecord } from '../../../../src/tools/replay/source.js';
import { readTestFile, testdataPath } from '../../../helpers/testdata.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlg-replay-src-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(file: string, opts: { path?: string; maxLineBytes?: number } = {}) {
  const rejected: Rejected[] = [];
  const records: SourceRecord[] = [];
  let bytes = 0;
  for await (const r of readLogFile(file, { ...opts, onReject: (x) => rejected.push(x), onBytes: (n) => (bytes += n) })) records.push(r);
  return { records, rejected, bytes };
}

async function* chunked(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function allLines(chunks: AsyncIterable<Buffer>, max = 1 << 20) {
  const out: Array<[number, string]> = [];
  const tooLong: Array<[number, number]> = [];
  for await (const { line, no } of lines(chunks, max, (n, b) => tooLong.push([n, b]))) out.push([no, line.toString()]);
  return { out, tooLong };
}

test('gzip is detected by its magic bytes only', () => {
  assert.equal(isGzip(gzipSync('x')), true);
  assert.equal(isGzip(Buffer.from('#separator')), false);
  assert.equal(isGzip(Buffer.from([0x1f])), false);
  assert.equal(isGzip(Buffer.alloc(0)), false);
});

test('log path from the file name', () => {
  const cases: Array<[string, string | undefined]> = [
    ['conn.log', 'conn'],
    ['/var/log/zeek/current/dns.log', 'dns'],
    ['conn.2024-01-01-00-00-00.log.gz', 'conn'],
    ['conn.00:00:00-01:00:00.log.gz', 'conn'],
    ['http_8080.log', 'http_8080'],
    ['conn-2.log', 'conn-2'],
    ['files.json', 'files'],
    ['weird', 'weird'],
    ['x509.log.gz', 'x509'],
    ['.log', undefined],
    ['has space.log', undefined],
  ];
  for (const [file, path] of cases) assert.equal(pathFromFileName(file), path, file);
});

test('lines: split across chunks, CRLF kept for the parser, last line without newline', async () => {
  const { out } = await allLines(chunked('ab', 'c\nde', 'f\n\ng\r\nh', 'i'));
  assert.deepEqual(out, [
    [1, 'abc'],
    [2, 'def'],
    [3, ''],
    [4, 'g\r'],
    [5, 'hi'],
  ]);
});

test('lines: an overlong line is skipped and reported; numbering goes on', async () => {
  const { out, tooLong } = await allLines(chunked('ok\n', 'x'.repeat(6), 'y'.repeat(6), 'zz\nfine\n', 'q'.repeat(20)), 10);
  assert.deepEqual(out, [
    [1, 'ok'],
    [3, 'fine'],
  ]);
  assert.deepEqual(tooLong, [
    [2, 12],
    [4, 20],
  ]);
});

test('a real TSV log: records with #path, converted, ts from the ts column', async () => {
  const file = testdataPath('cluster', 'wikipedia.logs', 'tsv', 'dns.log');
  const { records, rejected, bytes } = await collect(file);
  assert.equal(records.length, 34);
  assert.deepEqual(rejected, []);
  assert.equal(bytes, statSync(file).size);
  assert.equal(records[0]!.path, 'dns');
  assert.equal(records[0]!.ts, 1300475168.853899);
  assert.match(records[0]!.json.toString(), /^\{"ts":1300475168\.853899,"uid":"C\w+","id\.orig_h":"141\.142\.220\.118"/);
});

test('gzip or not, whatever the name says: the same records', async () => {
  const plain = readTestFile('cluster', 'smtp.logs', 'tsv', 'smtp.log');
  const gzAsLog = join(dir, 'misnamed.log'); // gzip inside, no .gz
  const plainAsGz = join(dir, 'plain.log.gz'); // plain text, .gz name
  writeFileSync(gzAsLog, gzipSync(plain));
  writeFileSync(plainAsGz, plain);
  const want = (await collect(testdataPath('cluster', 'smtp.logs', 'tsv', 'smtp.log'))).records;
  const a = await collect(gzAsLog);
  const b = await collect(plainAsGz);
  assert.equal(want.length, 2);
  assert.deepEqual(a.records, want);
  assert.deepEqual(b.records, want);
  assert.equal(a.bytes, statSync(gzAsLog).size, 'progress counts file (compressed) bytes');
});

test('concatenated gzip members (an appended log) are read through', async () => {
  const tsv = readTestFile('cluster', 'wikipedia.logs', 'tsv', 'http.log');
  const json = readTestFile('cluster', 'wikipedia.logs', 'json', 'http.log');
  const file = join(dir, 'http.2024-01-01-00-00-00.log.gz');
  writeFileSync(file, Buffer.concat([gzipSync(tsv), gzipSync(json)]));
  const { records, rejected } = await collect(file);
  assert.deepEqual(rejected, []);
  assert.equal(records.length, 28);
  assert.ok(records.every((r) => r.path === 'http'));
});

test('a truncated gzip file yields what it can, then fails', async () => {
  const gz = gzipSync(readTestFile('cluster', 'wikipedia.logs', 'json', 'conn.log'));
  const file = join(dir, 'conn.log.gz');
  writeFileSync(file, gz.subarray(0, gz.length - 200));
  const got: SourceRecord[] = [];
  await assert.rejects(async () => {
    for await (const r of readLogFile(file, { onReject: () => undefined })) got.push(r);
  }, /unexpected end of file/);
  assert.ok(got.length > 0 && got.length < 34, `${got.length} records before the error`);
});

test('bad lines are reported with line numbers and skipped; the rest goes through', async () => {
  const file = join(dir, 'mixed.log');
  const text = [
    '{"ts":1.0,"a":1}',
    'garbage',
    '{"ts":2.0,',
    '',
    '{"ts":3.0,"a":3}',
    '#fields\tts\tn',
    '#types\ttime\tcount',
    '4.0\t4',
    '5.0\tfive',
    '6.0\t6\t6',
    '7.0\t7',
  ].join('\n');
  writeFileSync(file, text);
  const { records, rejected } = await collect(file);
  assert.deepEqual(
    records.map((r) => [r.path, r.json.toString(), r.ts]),
    [
      ['mixed', '{"ts":1.0,"a":1}', 1],
      ['mixed', '{"ts":3.0,"a":3}', 3],
      ['mixed', '{"ts":4.0,"n":4}', 4],
      ['mixed', '{"ts":7.0,"n":7}', 7],
    ],
  );
  assert.deepEqual(
    rejected.map((r) => [r.file, r.line, r.reason]),
    [
      [file, 2, 'no-header'],
      [file, 3, 'bad-json'],
      [file, 9, 'bad-value'],
      [file, 10, 'field-count'],
    ],
  );
  assert.equal(rejected[2]!.detail, 'n: not a count: "five"');
});

test('path precedence: --path, then #path, then the file name; unusable paths are rejected', async () => {
  const tsv = testdataPath('cluster', 'ssh_kex_curve25519.logs', 'tsv', 'ssh.log');
  assert.equal((await collect(tsv)).records[0]!.path, 'ssh');
  assert.equal((await collect(tsv, { path: 'other' })).records[0]!.path, 'other');
  const renamed = join(dir, 'renamed.log');
  writeFileSync(renamed, readTestFile('cluster', 'ssh_kex_curve25519.logs', 'tsv', 'ssh.log'));
  assert.equal((await collect(renamed)).records[0]!.path, 'ssh', '#path beats the file name');
  const noName = join(dir, 'bad name.log');
  writeFileSync(noName, '{"ts":1.0}\n');
  const r = await collect(noName);
  assert.equal(r.records.length, 0);
  assert.deepEqual(r.rejected.map((x) => [x.line, x.reason, x.detail]), [[1, 'bad-path', 'no #path and no log path in the file name (use --path)']]);
  assert.equal((await collect(noName, { path: 'conn' })).records.length, 1);
  assert.equal((await collect(noName, { path: 'co nn' })).rejected[0]!.reason, 'bad-path');
});

test('streaming: the first record comes long before the file is read', async () => {
  const file = join(dir, 'big.log');
  const row = '{"ts":1.0,"s":"' + 'x'.repeat(200) + '"}\n';
  writeFileSync(file, row.repeat(20_000)); // ~4 MB
  let bytes = 0;
  let atFirst = -1;
  let n = 0;
  for await (const _ of readLogFile(file, { onReject: () => undefined, onBytes: (b) => (bytes += b) })) {
    if (n++ === 0) atFirst = bytes;
  }
  assert.equal(n, 20_000);
  assert.ok(atFirst > 0 && atFirst <= 512 * 1024, `first record after ${atFirst} of ${statSync(file).size} bytes`);
});

test('an overlong line is rejected, not buffered without bound', async () => {
  const file = join(dir, 'long.log');
  writeFileSync(file, `{"ts":1.0}\n{"s":"${'x'.repeat(5000)}"}\n{"ts":2.0}\n`);
  const { records, rejected } = await collect(file, { maxLineBytes: 1000 });
  assert.equal(records.length, 2);
  assert.deepEqual(rejected.map((r) => [r.line, r.reason]), [[2, 'line-too-long']]);
});
