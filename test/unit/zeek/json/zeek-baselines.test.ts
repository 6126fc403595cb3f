// time values against Zeek's own btest baselines, as scalars and inside vectors and sets,
// through the whole decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeekBinV1Decoder } from '../../../../src/zeek/binary/bin-v1.js';
import type { TimestampMode } from '../../../../src/zeek/types.js';
import { Wire } from '../binary/encode.js';

// Inputs of zeek/zeek testing/btest/scripts/base/frameworks/logging/ascii-json-iso-timestamps.zeek
// (strptime(...) + offset, computed the same way in double arithmetic) and the expected text from
// testing/btest/Baseline/scripts.base.frameworks.logging.ascii-json-iso-timestamps/ssh.log.
const ISO_BASELINE: [number, string][] = [
  [Date.UTC(2008, 6, 9, 16, 13, 30) / 1000 + 0.0054321, '"2008-07-09T16:13:30.005432Z"'],
  [Date.UTC(1986, 11, 1, 1, 1, 1) / 1000 + 0.9, '"1986-12-01T01:01:01.900000Z"'],
  [0 - 0.4, '"1969-12-31T23:59:59.600000Z"'],
  [0 - 0.5, '"1969-12-31T23:59:59.500000Z"'],
  [0 - 0.6, '"1969-12-31T23:59:59.400000Z"'],
  [0 - 1.0, '"1969-12-31T23:59:59.000000Z"'],
  [0 - 1.4, '"1969-12-31T23:59:58.600000Z"'],
  [0 - 1.5, '"1969-12-31T23:59:58.500000Z"'],
  [0 - 1.6, '"1969-12-31T23:59:58.400000Z"'],
  [0 - 99, '"1969-12-31T23:58:21.000000Z"'],
];

const TIME = 5;
const VECTOR = 19;
const TABLE = 14;

/** One batch: per input time a record {t, vt: [t, t], st: [t]}. */
function batch(times: readonly number[]): Buffer {
  const w = new Wire().header('ssh').u32(3).field('t', TIME).field('vt', VECTOR, TIME).field('st', TABLE, TIME).u32(times.length);
  for (const t of times) {
    w.time(t);
    w.container(VECTOR, 2n).time(t).time(t);
    w.container(TABLE, 1n).time(t);
  }
  return w.build();
}

function render(times: readonly number[], timestamps: TimestampMode): string[] {
  const r = new ZeekBinV1Decoder().decode(batch(times), { timestamps });
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  return r.batch.records.map((b) => b.toString());
}

test('iso8601: the ascii-json-iso-timestamps baseline, also inside vectors and sets', () => {
  const got = render(ISO_BASELINE.map(([t]) => t), 'iso8601');
  ISO_BASELINE.forEach(([, want], i) => assert.equal(got[i], `{"t":${want},"vt":[${want},${want}],"st":[${want}]}`));
});

test('every timestamp mode writes a time the same way as a field, a vector element and a set element', () => {
  for (const mode of ['epoch', 'millis', 'millis-unsigned', 'iso8601'] as TimestampMode[]) {
    for (const line of render(ISO_BASELINE.map(([t]) => t), mode)) {
      const m = /^\{"t":(.+),"vt":\[(.+),(.+)\],"st":\[(.+)\]\}$/.exec(line);
      assert.ok(m, line);
      assert.ok(m[1] === m[2] && m[2] === m[3] && m[3] === m[4], `${mode}: ${line}`);
    }
  }
  // millis of -0.4 s: (int64)(-400.0) = -400; unsigned: 2^64 - 400 (Zeek's TS_MILLIS_UNSIGNED).
  assert.ok(render([-0.4], 'millis')[0]!.startsWith('{"t":-400,'));
  assert.ok(render([-0.4], 'millis-unsigned')[0]!.startsWith('{"t":18446744073709551216,'));
});

// testing/btest/scripts/base/frameworks/logging/ascii-negative-ts.zeek writes
// [$ts=double_to_time(-315619200)] once per LogAscii::json_timestamps mode; the expected lines are
// its baselines Baseline/scripts.base.frameworks.logging.ascii-negative-ts/test.log.ts_*.
const NEGATIVE_TS_BASELINE: [TimestampMode, string][] = [
  ['epoch', '{"ts":-315619200.0}'],
  ['millis', '{"ts":-315619200000}'],
  ['millis-unsigned', '{"ts":18446743758090351616}'],
  ['iso8601', '{"ts":"1960-01-01T00:00:00.000000Z"}'],
];

test('every json_timestamps mode: the ascii-negative-ts baselines byte for byte', () => {
  for (const [mode, want] of NEGATIVE_TS_BASELINE) {
    const w = new Wire().header('test').u32(1).field('ts', TIME).u32(1).time(-315619200);
    const r = new ZeekBinV1Decoder().decode(w.build(), { timestamps: mode });
    if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
    assert.equal(r.batch.records[0]!.toString(), want, mode);
  }
});

// testing/btest/scripts/base/frameworks/logging/ascii-json-optional.zeek: {ts: time &optional,
// msg: string &optional} written with only msg set. Baselines testing.log (default) and
// testing_nullfields.log (LogAscii::json_include_unset_fields=T).
const STRING = 7;

test('include_unset_fields: the ascii-json-optional baselines byte for byte', () => {
  const render = (includeUnsetFields: boolean): string => {
    const w = new Wire().header('testing').u32(2).field('ts', TIME, 0, true).field('msg', STRING, 0, true).u32(1);
    w.unset(TIME).string('Testing 1 2 3 ');
    const r = new ZeekBinV1Decoder().decode(w.build(), { includeUnsetFields });
    if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
    return r.batch.records[0]!.toString();
  };
  assert.equal(render(false), '{"msg":"Testing 1 2 3 "}');
  assert.equal(render(true), '{"ts":null,"msg":"Testing 1 2 3 "}');
});
