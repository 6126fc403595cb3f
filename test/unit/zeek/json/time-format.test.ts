import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../../helpers/mutate.js';
import { writeIso8601, writeMillis } from '../../../../src/zeek/json/time-format.js';

const buf = Buffer.alloc(64);
const iso = (t: number): string => buf.toString('latin1', 0, writeIso8601(buf, 0, t));
const millis = (t: number, unsigned = false): string => buf.toString('latin1', 0, writeMillis(buf, 0, t, unsigned));

test('TS_ISO8601: spec example and negative times', () => {
  assert.equal(iso(1700000000.5), '"2023-11-14T22:13:20.500000Z"');
  assert.equal(iso(0), '"1970-01-01T00:00:00.000000Z"');
  assert.equal(iso(-0.4), '"1969-12-31T23:59:59.600000Z"');
  assert.equal(iso(-315619200), '"1960-01-01T00:00:00.000000Z"');
  assert.equal(iso(951782400), '"2000-02-29T00:00:00.000000Z"');
  assert.equal(iso(1437831799.764576), '"2015-07-25T13:43:19.764576Z"');
});

test('TS_ISO8601: %.0f rounds ties to even on the exact binary value', () => {
  // .0078125 = 1/128: 7812.5 microseconds, a real tie; 7812 is even
  assert.equal(iso(1700000000.0078125), '"2023-11-14T22:13:20.007812Z"');
  // 3/128: 23437.5, 23437 is odd, so up
  assert.equal(iso(1700000000.0234375), '"2023-11-14T22:13:20.023438Z"');
  // JS Math.round would give 7813 here
  assert.equal(Math.round(7812.5), 7813);
});

test('TS_ISO8601: a fraction that rounds to a full second prints 7 digits, no carry', () => {
  const t = 1700000000.9999996;
  assert.ok((t - Math.trunc(t)) * 1e6 >= 999999.5);
  assert.equal(iso(t), '"2023-11-14T22:13:20.1000000Z"');
});

test('TS_ISO8601: gmtime failure gives the fallback text without Z; big years unpadded', () => {
  assert.equal(iso(NaN), '"2000-01-01T00:00:00.000000"');
  assert.equal(iso(Infinity), '"2000-01-01T00:00:00.000000"');
  assert.equal(iso(1e17), '"2000-01-01T00:00:00.000000"'); // year beyond int
  assert.equal(iso(1e19), '"2000-01-01T00:00:00.000000"'); // beyond time_t
  assert.equal(iso(253402300800), '"10000-01-01T00:00:00.000000Z"');
  // glibc's %Y does not pad (spec §6.5 (e) is unsure; irrelevant for real traffic)
  assert.equal(iso(-30610224000), '"1000-01-01T00:00:00.000000Z"');
  assert.equal(iso(-30610224001), '"999-12-31T23:59:59.000000Z"');
});

test('TS_ISO8601: dates equal Date.toISOString and non-tie fractions equal Math.round', () => {
  const next = makeRng(777).u32;
  for (let i = 0; i < 20000; i++) {
    const t = ((next() / 2 ** 32) * 2 - 0.5) * 1e10 + (next() % 1000000) / 1e6;
    const got = iso(t);
    const secs = Math.floor(t);
    assert.equal(got.slice(1, 20), new Date(secs * 1000).toISOString().slice(0, 19), String(t));
    let frac = t - Math.trunc(t);
    if (frac < 0) frac += 1;
    const x = frac * 1e6;
    if (x - Math.floor(x) !== 0.5) {
      assert.equal(got.slice(21, -2), String(Math.round(x)).padStart(6, '0'), String(t));
    }
  }
});

test('TS_MILLIS and TS_MILLIS_UNSIGNED (x86-64 conversions)', () => {
  assert.equal(millis(1700000000.5), '1700000000500');
  assert.equal(millis(1700000108.927019), '1700000108927');
  assert.equal(millis(-315619200), '-315619200000');
  assert.equal(millis(-315619200, true), '18446743758090351616');
  assert.equal(millis(-0.4), '-400');
  assert.equal(millis(-0.4, true), '18446744073709551216');
  assert.equal(millis(-0.0001), '0');
  assert.equal(millis(-0.0001, true), '0');
  assert.equal(millis(1700000000.5, true), '1700000000500');
  // NaN and out-of-range products: cvttsd2si gives INT64_MIN
  assert.equal(millis(NaN), '-9223372036854775808');
  assert.equal(millis(NaN, true), '9223372036854775808');
  assert.equal(millis(1e300), '-9223372036854775808');
  assert.equal(millis(9.2e15), '9200000000000000000');
});
