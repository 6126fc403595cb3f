/**
 * Real data: every TSV log Zeek wrote for the test pcaps converts to the record Zeek's
 * JSON writer wrote for the same pcap, and JSON logs pass through unchanged.
 *
 * What "same" means here, and why (testdata README + spec):
 * - cluster/<pcap>.logs/tsv and json are two separate runs. So uid/fuid values differ
 *   (compared by count only), packet_filter ts is wall clock (not compared), and records
 *   flushed at shutdown (conn, some dns) come out in a different order: records are
 *   matched one to one, not line by line.
 * - Sets are hash-ordered, and the hash order differs between runs: set elements are
 *   compared as multisets, each element byte for byte. Vectors keep their order.
 * - TSV prints time/interval with 6 decimals: such a value must equal the JSON log's
 *   double within half a unit of the last TSV digit. Everything else (keys and their
 *   order, strings, enums, addresses, counts, ports, bools, every element) byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ZeekLogParser } from '../../../../src/zeek/tsv/parser.js';
import { parseColumnType, type ColumnType } from '../../../../src/zeek/tsv/values.js';
import { loadCapture, PCAPS, readTestFile, testdataPath } from '../../../helpers/testdata.js';

/** Ids Zeek draws at random per run. */
const RUN_IDS = new Set(['uid', 'fuid', 'fuids', 'orig_fuids', 'resp_fuids']);
const DOUBLES = new Set(['double', 'time', 'interval']);

/** Lines of a test file as raw bytes (no decoding, so nothing is altered). */
function byteLines(...parts: string[]): Buffer[] {
  const data = readTestFile(...parts);
  const out: Buffer[] = [];
  for (let from = 0; from < data.length; ) {
    const nl = data.indexOf(0x0a, from);
    const end = nl < 0 ? data.length : nl;
    out.push(data.subarray(from, end));
    from = end + 1;
  }
  return out;
}

/** End of the JSON value starting at i (a flat Zeek record: strings, numbers, literals, arrays). */
function valueEnd(s: string, i: number): number {
  if (s[i] === '"') {
    let j = i + 1;
    while (s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (s[i] === '[') {
    let j = i + 1;
    while (s[j] !== ']') {
      j = valueEnd(s, j);
      if (s[j] === ',') j++;
    }
    return j + 1;
  }
  let j = i;
  while (j < s.length && s[j] !== ',' && s[j] !== '}' && s[j] !== ']') j++;
  return j;
}

/** The members of a JSON object line as [key, raw value text], in order. */
function rawMembers(line: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  assert.equal(line[0], '{');
  let i = 1;
  while (line[i] !== '}') {
    const keyEnd = valueEnd(line, i);
    const key = JSON.parse(line.slice(i, keyEnd)) as string;
    assert.equal(line[keyEnd], ':');
    const vEnd = valueEnd(line, keyEnd + 1);
    out.push([key, line.slice(keyEnd + 1, vEnd)]);
    i = line[vEnd] === ',' ? vEnd + 1 : vEnd;
  }
  assert.equal(i, line.length - 1, 'nothing after the object');
  return out;
}

/** Raw element texts of a JSON array text. */
function rawElements(arr: string): string[] {
  const out: string[] = [];
  let i = 1;
  while (arr[i] !== ']') {
    const e = valueEnd(arr, i);
    out.push(arr.slice(i, e));
    i = arr[e] === ',' ? e + 1 : e;
  }
  return out;
}

/** Half a unit in the last digit the TSV printed: 0.5e-6 for `1.000000`, 0.5e3 for `2.147484e+09`. */
function halfUnit(tsvText: string): number {
  const m = /^[-+]?\d*(?:\.(\d*))?(?:e([-+]?\d+))?$/i.exec(tsvText);
  assert.ok(m, `a TSV double: ${tsvText}`);
  return 0.5 * 10 ** (Number(m[2] ?? 0) - (m[1]?.length ?? 0));
}

interface Stats {
  doublesDiffering: number;
}

function sameDouble(conv: string, log: string, tsvText: string, stats: Stats): boolean {
  if (conv === log) return true;
  const a = Number(conv);
  const b = Number(log);
  const slack = 2 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b)); // the parse of the TSV text itself
  if (!(Math.abs(a - b) <= halfUnit(tsvText) + slack)) return false;
  stats.doublesDiffering++;
  return true;
}

/** Differences between a converted record and a JSON log line (empty: the same). */
function differences(
  path: string,
  conv: string,
  log: string,
  columns: Map<string, { type: ColumnType; text: string }>,
  stats: Stats,
): string[] {
  const a = rawMembers(conv);
  const b = rawMembers(log);
  const keysA = a.map(([k]) => k).join(',');
  const keysB = b.map(([k]) => k).join(',');
  if (keysA !== keysB) return [`keys ${keysA} != ${keysB}`];
  const diffs: string[] = [];
  const local: Stats = { doublesDiffering: 0 };
  a.forEach(([key, va], i) => {
    const vb = b[i]![1];
    const col = columns.get(key)!;
    const { type, text } = col;
    if (path === 'packet_filter' && key === 'ts') return; // wall clock in both runs
    if (RUN_IDS.has(key)) {
      const n = (v: string): number => (v.startsWith('[') ? rawElements(v).length : 1);
      if (n(va) !== n(vb)) diffs.push(`${key}: ${va} != ${vb}`);
      return;
    }
    if (type.container === undefined) {
      const same = DOUBLES.has(type.scalar) ? sameDouble(va, vb, text, local) : va === vb;
      if (!same) diffs.push(`${key}: ${va} != ${vb}`);
      return;
    }
    const ea = rawElements(va);
    const eb = rawElements(vb);
    if (type.container === 'set') {
      if ([...ea].sort().join('\n') !== [...eb].sort().join('\n')) diffs.push(`${key}: ${va} != ${vb}`);
      return;
    }
    const tsvElems = text.split(',');
    const same =
      ea.length === eb.length &&
      ea.every((x, j) => (DOUBLES.has(type.scalar) && x !== 'null' ? sameDouble(x, eb[j]!, tsvElems[j]!, local) : x === eb[j]));
    if (!same) diffs.push(`${key}: ${va} != ${vb}`);
  });
  if (diffs.length === 0) stats.doublesDiffering += local.doublesDiffering;
  return diffs;
}

function tsvLogs(pcap: string): string[] {
  return readdirSync(testdataPath('cluster', `${pcap}.logs`, 'tsv')).filter((f) => f.endsWith('.log'));
}

for (const pcap of PCAPS) {
  test(`TSV → JSON equals Zeek's JSON log: cluster/${pcap}`, (t) => {
    const stats: Stats = { doublesDiffering: 0 };
    let records = 0;
    for (const file of tsvLogs(pcap)) {
      const parser = new ZeekLogParser();
      const converted: Array<{ json: string; columns: Map<string, { type: ColumnType; text: string }> }> = [];
      const paths = new Set<string | undefined>();
      for (const line of byteLines('cluster', `${pcap}.logs`, 'tsv', file)) {
        const r = parser.parseLine(line);
        assert.notEqual(r.kind, 'error', `${file}: ${JSON.stringify(r)}`);
        if (r.kind !== 'record') continue;
        paths.add(parser.path);
        const { fields, types } = parser.header;
        const texts = line.toString('utf8').split('\t');
        const columns = new Map(fields!.map((f, i) => [f, { type: parseColumnType(types![i]!)!, text: texts[i]! }]));
        converted.push({ json: r.json.toString('utf8'), columns });
      }
      const path = file.replace(/\.log$/, '');
      assert.deepEqual([...paths], [path], `${file}: #path`);
      const logLines = byteLines('cluster', `${pcap}.logs`, 'json', file).map((b) => b.toString('utf8'));
      assert.equal(converted.length, logLines.length, `${file}: record count`);
      const used = new Set<number>();
      converted.forEach((c, i) => {
        let firstDiff: string[] | undefined;
        const j = logLines.findIndex((l, k) => {
          if (used.has(k)) return false;
          const d = differences(path, c.json, l, c.columns, stats);
          firstDiff ??= d;
          return d.length === 0;
        });
        assert.ok(j >= 0, `${pcap} ${file} TSV record ${i + 1} matches no JSON line; first candidate: ${firstDiff?.join('; ')}\n${c.json}`);
        used.add(j);
      });
      records += converted.length;
    }
    assert.ok(records > 0);
    t.diagnostic(`${records} records; ${stats.doublesDiffering} doubles differ only beyond the TSV's 6 decimals`);
  });
}

test('the comparison itself is strict: a changed string, count or double is caught', () => {
  const cols = new Map<string, { type: ColumnType; text: string }>([
    ['ts', { type: parseColumnType('time')!, text: '1.000000' }],
    ['s', { type: parseColumnType('string')!, text: 'x' }],
    ['n', { type: parseColumnType('count')!, text: '1' }],
    ['v', { type: parseColumnType('vector[string]')!, text: 'a,b' }],
    ['e', { type: parseColumnType('set[string]')!, text: 'a,b' }],
  ]);
  const st: Stats = { doublesDiffering: 0 };
  const base = '{"ts":1.0,"s":"x","n":1,"v":["a","b"],"e":["a","b"]}';
  assert.deepEqual(differences('p', base, '{"ts":1.0000004,"s":"x","n":1,"v":["a","b"],"e":["b","a"]}', cols, st), []);
  assert.equal(st.doublesDiffering, 1);
  for (const changed of [
    '{"ts":1.0000006,"s":"x","n":1,"v":["a","b"],"e":["a","b"]}',
    '{"ts":1.0,"s":"X","n":1,"v":["a","b"],"e":["a","b"]}',
    '{"ts":1.0,"s":"x","n":2,"v":["a","b"],"e":["a","b"]}',
    '{"ts":1.0,"s":"x","n":1,"v":["b","a"],"e":["a","b"]}',
    '{"ts":1.0,"s":"x","n":1,"v":["a","b"],"e":["a","c"]}',
    '{"s":"x","ts":1.0,"n":1,"v":["a","b"],"e":["a","b"]}',
    '{"ts":1.0,"s":"\\u0078","n":1,"v":["a","b"],"e":["a","b"]}',
  ]) {
    assert.notDeepEqual(differences('p', base, changed, cols, st), [], changed);
  }
});

/** ncsa/<pcap>.logs: JSON logs written in the same run as the NCSA capture. */
function ncsaLogs(pcap: string): string[] {
  return readdirSync(testdataPath('ncsa', `${pcap}.logs`)).filter((f) => f.endsWith('.log'));
}

for (const pcap of PCAPS) {
  test(`JSON logs pass through unchanged and equal what the NCSA plugin sent: ncsa/${pcap}`, () => {
    const sent = new Map<string, string[]>();
    for (const [p, body] of loadCapture('ncsa', `${pcap}.jsonl`)) {
      const list = sent.get(p!.toString()) ?? [];
      list.push(body!.toString('utf8'));
      sent.set(p!.toString(), list);
    }
    for (const file of ncsaLogs(pcap)) {
      const path = file.replace(/\.log$/, '');
      const parser = new ZeekLogParser();
      const records: string[] = [];
      for (const line of byteLines('ncsa', `${pcap}.logs`, file)) {
        const r = parser.parseLine(line);
        assert.equal(r.kind, 'record', `${file}: ${JSON.stringify(r)}`);
        if (r.kind !== 'record') continue;
        assert.ok(r.json.equals(line), 'byte for byte');
        assert.equal(r.ts, (JSON.parse(line.toString('utf8')) as { ts: number }).ts);
        records.push(r.json.toString('utf8'));
      }
      // ssl differs by design: the plugin's filter does not exclude subject/issuer (README).
      if (path === 'ssl') assert.equal(records.length, sent.get(path)?.length);
      else assert.deepEqual(records, sent.get(path), `${pcap} ${path}: the plugin's messages, in order`);
    }
  });
}
