import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cachedPower, formatDouble, grisu2Digits } from '../../../../src/zeek/json/dtoa.js';
import { makeRng } from '../../../helpers/mutate.js';
import { refGrisu2 } from './grisu-ref.js';

const fromBits = (hex: string): number => Buffer.from(hex, 'hex').readDoubleBE(0);

test('spec §6.4 vectors: exact rapidjson text', () => {
  const rows: [string, string][] = [
    ['0000000000000000', '0.0'],
    ['8000000000000000', '-0.0'],
    ['3ff0000000000000', '1.0'],
    ['4059000000000000', '100.0'],
    ['40091eb851eb851f', '3.14'],
    ['4415af1d78b58c40', '100000000000000000000.0'],
    ['444b1ae4d6e2ef50', '1e21'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3e7ad7f29abcaf48', '1e-7'],
    ['3efa36e2eb1c432d', '0.000025'],
    ['0000000000000001', '5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e308'],
    ['441ac53a7e04bcda', '123456789012345680000.0'],
    ['41d954fc40200000', '1700000000.5'],
    ['41d954fc5b3b5447', '1700000108.9270189'],
    ['41d9550b75866e2b', '1700015574.1004741'],
    ['41d955089c431c55', '1700012657.0486043'],
    ['40535874b407032a', '77.38212300000001'],
    ['5895a8313787e90d', '5.4613074382432586e118'],
  ];
  for (const [bits, text] of rows) assert.equal(formatDouble(fromBits(bits)), text, bits);
});

test('NaN and infinities are null (NullDoubleWriter); negatives get a sign', () => {
  assert.equal(formatDouble(NaN), 'null');
  assert.equal(formatDouble(Infinity), 'null');
  assert.equal(formatDouble(-Infinity), 'null');
  assert.equal(formatDouble(-3.14), '-3.14');
  assert.equal(formatDouble(-1e-7), '-1e-7');
  assert.equal(formatDouble(-100), '-100.0');
});

test('Prettify branches: exponent form, small fractions, 21-digit limit', () => {
  assert.equal(formatDouble(1e22), '1e22');
  assert.equal(formatDouble(1.5e300), '1.5e300');
  assert.equal(formatDouble(1.5e-300), '1.5e-300');
  assert.equal(formatDouble(0.1), '0.1');
  assert.equal(formatDouble(0.0000123), '0.0000123');
  assert.equal(formatDouble(1.23e-7), '1.23e-7');
  assert.equal(formatDouble(123456789012345678901), '123456789012345680000.0');
  assert.equal(formatDouble(2.2250738585072014e-308), '2.2250738585072014e-308');
});

test("cached powers equal rapidjson's published table (spot checks)", () => {
  // kCachedPowers_F / kCachedPowers_E entries of rapidjson's diyfp.h
  const spots: [number, string, number][] = [
    [0, 'fa8fd5a0081c0288', -1220],
    [1, 'baaee17fa23ebf76', -1193],
    [43, 'd1b71758e219652c', -77],
    [44, '9c40000000000000', -50],
    [45, 'e8d4a51000000000', -24],
    [46, 'ad78ebc5ac620000', 3],
    [47, '813f3978f8940984', 30],
    [85, 'eb96bf6ebadf77d9', 1039],
    [86, 'af87023b9bf0ee6b', 1066],
  ];
  for (const [i, f, e] of spots) {
    const [hi, lo, ce] = cachedPower(i);
    assert.equal(hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'), f, `index ${i}`);
    assert.equal(ce, e, `index ${i}`);
  }
});

test('fast Grisu2 equals the BigInt transcription of rapidjson, and always round-trips', () => {
  const next = makeRng(20231114).u32;
  const dv = new DataView(new ArrayBuffer(8));
  const samples: number[] = [];
  // random bit patterns (all exponents), microsecond timestamps and intervals, subnormals
  for (let i = 0; i < 60000; i++) {
    dv.setUint32(0, next() & 0x7fffffff);
    dv.setUint32(4, next());
    samples.push(dv.getFloat64(0));
    samples.push(1.7e9 + (next() % 600000000) / 1e6);
    samples.push((next() % 100000000) / 1e6);
  }
  for (let i = 0; i < 2000; i++) {
    dv.setUint32(0, next() % 0x100000);
    dv.setUint32(4, next());
    samples.push(dv.getFloat64(0));
  }
  // both boundary cases of every binary exponent (power of two and its neighbours)
  for (let e = 0; e < 2047; e++) {
    for (const lo of [0, 1, 0xffffffff]) {
      dv.setUint32(0, e << 20);
      dv.setUint32(4, lo);
      samples.push(dv.getFloat64(0));
    }
  }
  let checked = 0;
  let differsFromJs = 0;
  for (const x of samples) {
    if (!(x > 0) || !Number.isFinite(x)) continue;
    const fast = grisu2Digits(x);
    const ref = refGrisu2(x);
    if (fast.digits !== ref.digits || fast.k !== ref.k) {
      assert.fail(`${x}: fast ${fast.digits}e${fast.k}, reference ${ref.digits}e${ref.k}`);
    }
    assert.ok(ref.shift >= 34 && ref.shift <= 60, `DigitGen shift ${ref.shift} for ${x}`);
    assert.equal(Number(`${fast.digits}e${fast.k}`), x, `round trip of ${x}`);
    const text = formatDouble(x);
    assert.equal(Number(text), x);
    if (text.replace(/\.0$/, '').replace('e', 'e+').replace('e+-', 'e-') !== String(x)) differsFromJs++;
    checked++;
  }
  assert.ok(checked > 180000);
  // Grisu2 is not shortest-digits: a small share prints differently from JS (spec: ~0.12%).
  assert.ok(differsFromJs > 0 && differsFromJs < checked / 100, `${differsFromJs} of ${checked} differ from JS`);
});
