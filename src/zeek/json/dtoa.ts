/**
 * Double to text exactly as rapidjson's `Writer::Double` (Grisu2 + Prettify) writes it,
 * which is what Zeek's JSON formatter uses (spec §6.4). Grisu2 is not shortest-digits:
 * about 0.12% of doubles print differently from JS `String(x)`, so the algorithm is
 * reproduced step by step, including its rounding ("weeding") loop.
 *
 * All 64-bit quantities are kept as two 32-bit halves in plain numbers (hi, lo), so the
 * hot path allocates nothing and never touches BigInt. 32x32-bit products are split into
 * 16-bit halves to stay exact below 2^53. BigInt is used only to build tables at load time.
 * Tested against a literal BigInt transcription of rapidjson (test/unit/zeek/json/grisu-ref.ts).
 */

const TWO32 = 4294967296;

/** 10^0 .. 10^9 (rapidjson's kPow10 for the integral digits). */
const POW10_32 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** 2^0 .. 2^31 (a table: `**` is a slow call in hot code). */
const POW2: number[] = [];
for (let i = 0; i < 32; i++) POW2.push(2 ** i);

/** 10^0 .. 10^19 as uint64 halves (rapidjson's 20-entry table for the fraction loop). */
const POW10_HI = new Int32Array(20);
const POW10_LO = new Int32Array(20);
for (let i = 0; i < 20; i++) {
  const v = 10n ** BigInt(i);
  POW10_HI[i] = Number(v >> 32n);
  POW10_LO[i] = Number(v & 0xffffffffn);
}

/**
 * rapidjson's 87 cached powers 10^-348, 10^-340, ..., 10^340: the 64-bit significand
 * (top bit set) rounded to nearest, and its binary exponent. Computed exactly here.
 */
const CP_HI = new Int32Array(87);
const CP_LO = new Int32Array(87);
const CP_E = new Int32Array(87);
for (let i = 0; i < 87; i++) {
  const k = -348 + 8 * i;
  let f: bigint;
  let e: number;
  if (k >= 0) {
    const n = 10n ** BigInt(k);
    const bits = n.toString(2).length;
    if (bits <= 64) {
      f = n << BigInt(64 - bits);
      e = bits - 64;
    } else {
      const shift = BigInt(bits - 64);
      f = (n >> shift) + ((n >> (shift - 1n)) & 1n);
      e = bits - 64;
    }
  } else {
    const d = 10n ** BigInt(-k);
    const m = d.toString(2).length + 63;
    const num = 1n << BigInt(m);
    f = num / d;
    if ((num % d) * 2n >= d) f += 1n;
    e = -m;
  }
  if (f >> 64n) {
    f >>= 1n;
    e += 1;
  }
  CP_HI[i] = Number(f >> 32n);
  CP_LO[i] = Number(f & 0xffffffffn);
  CP_E[i] = e;
}

/** Cached power i as [hi, lo, e] (halves as uint32); exported for tests. */
export function cachedPower(i: number): [number, number, number] {
  return [CP_HI[i]! >>> 0, CP_LO[i]! >>> 0, CP_E[i]!];
}

/*
 * Convention: every 64-bit value is a pair of int32 bit patterns (hi, lo). int32 values
 * are V8 small integers, so they cross function calls and land in the Int32Array result
 * registers without heap allocation; a uint32 above 2^31 passed to a non-inlined
 * function would be boxed. Arithmetic converts with `>>> 0` where it needs the value.
 */

/** Result registers of the helpers below: R[H] high half, R[L] low half. */
const R = new Int32Array(2);
const H = 0;
const L = 1;

/** Exact 32x32-bit product into R (float math on 16-bit halves; no `%`: fmod is slow). */
function mul32(a: number, b: number): void {
  const aH = a >>> 16;
  const aL = a & 0xffff;
  const bH = b >>> 16;
  const bL = b & 0xffff;
  const m = aH * bL + aL * bH + ((aL * bL) >>> 16); // < 2^34, exact
  R[H] = aH * bH + Math.floor(m / 65536);
  R[L] = Math.imul(a, b);
}

/** Words of the last mul128() product, least significant first, as uint32 values. */
const P4 = new Float64Array(4);

/** Exact 128-bit product of two 64-bit values into P4. */
function mul128(aH: number, aL: number, bH: number, bL: number): void {
  mul32(aL, bL);
  const bdH = R[H]! >>> 0;
  P4[0] = R[L]! >>> 0;
  mul32(aH, bL);
  const adH = R[H]! >>> 0;
  const adL = R[L]! >>> 0;
  mul32(aL, bH);
  const bcH = R[H]! >>> 0;
  const bcL = R[L]! >>> 0;
  mul32(aH, bH);
  let t = bdH + adL + bcL;
  const c1 = Math.floor(t / TWO32);
  P4[1] = t - c1 * TWO32;
  t = (R[L]! >>> 0) + adH + bcH + c1;
  const c2 = Math.floor(t / TWO32);
  P4[2] = t - c2 * TWO32;
  P4[3] = (R[H]! >>> 0) + c2;
}

/**
 * Upper 64 bits of the 128-bit product, plus one if bit 63 of the lower half is set
 * (DiyFp::operator*), into R. rapidjson's __int128 path and its 32-bit-limb path compute
 * the same value: adding 2^31 to the second column and carrying is the same rounding.
 */
function mulHigh(aH: number, aL: number, bH: number, bL: number): void {
  mul128(aH, aL, bH, bL);
  let m = P4[2]!;
  let h = P4[3]!;
  if (P4[1]! >= 0x80000000 && ++m === TWO32) {
    m = 0;
    h++;
  }
  R[L] = m;
  R[H] = h;
}

/** Low 64 bits of a product (uint64 multiplication that wraps, as in C). */
function mulLow(aH: number, aL: number, bH: number, bL: number): void {
  mul32(aL, bL);
  R[H] = R[H]! + Math.imul(aH, bL) + Math.imul(aL, bH);
}

/** Wrapping 64-bit subtraction into R. */
function sub64(aH: number, aL: number, bH: number, bL: number): void {
  const lo = (aL >>> 0) - (bL >>> 0);
  R[L] = lo;
  R[H] = aH - bH - (lo < 0 ? 1 : 0);
}

/** Wrapping 64-bit addition into R. */
function add64(aH: number, aL: number, bH: number, bL: number): void {
  const lo = (aL >>> 0) + (bL >>> 0);
  R[L] = lo;
  R[H] = aH + bH + (lo >= TWO32 ? 1 : 0);
}

/** Left shift by 0..63 into R. */
function shl64(h: number, l: number, s: number): void {
  if (s === 0) {
    R[H] = h;
    R[L] = l;
  } else if (s < 32) {
    R[H] = (h << s) | (l >>> (32 - s));
    R[L] = l << s;
  } else {
    R[H] = l << (s - 32);
    R[L] = 0;
  }
}

function clz64(h: number, l: number): number {
  return h !== 0 ? Math.clz32(h) : 32 + Math.clz32(l);
}

/** Unsigned a < b. */
function lt64(aH: number, aL: number, bH: number, bL: number): boolean {
  return aH === bH ? aL >>> 0 < bL >>> 0 : aH >>> 0 < bH >>> 0;
}

// Digit buffer and exponent of the last grisu2() call.
const digits = new Uint8Array(32);
let nDigits = 0;
let decK = 0;

/** rapidjson's CountDecimalDigit32, which never answers more than 9. */
function countDigits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  return 9;
}

/** GrisuRound: move the last digit down while that gets closer to the value. */
function grisuRound(
  dH: number,
  dL: number,
  rH: number,
  rL: number,
  tH: number,
  tL: number,
  wH: number,
  wL: number,
): void {
  while (lt64(rH, rL, wH, wL)) {
    sub64(dH, dL, rH, rL);
    if (lt64(R[H]!, R[L]!, tH, tL)) return; // delta - rest < ten_kappa
    add64(rH, rL, tH, tL);
    const aH = R[H]!;
    const aL = R[L]!;
    if (!lt64(aH, aL, wH, wL)) {
      // not "closer" outright: compare wp_w - rest with rest + ten_kappa - wp_w
      sub64(wH, wL, rH, rL);
      const xH = R[H]!;
      const xL = R[L]!;
      sub64(aH, aL, wH, wL);
      if (!lt64(R[H]!, R[L]!, xH, xL)) return;
    }
    digits[nDigits - 1]!--;
    rH = aH;
    rL = aL;
  }
}

/**
 * DigitGen for Mp = (mpH:mpL) * 2^-sh with 34 <= sh <= 60 (guaranteed by the cached
 * power choice), delta = (dH:dL), wp_w = Mp - W = (wwH:wwL).
 */
function digitGen(mpH: number, mpL: number, sh: number, deltaH: number, deltaL: number, wwH: number, wwL: number): void {
  const D = POW2[sh - 32]!; // 2^sh expressed on the high half
  const mp = mpH >>> 0;
  let p1 = Math.floor(mp / D);
  let p2H = mp - p1 * D; // p2 = Mp mod 2^sh as two uint32-valued numbers
  let p2L = mpL >>> 0;
  let dH = deltaH >>> 0;
  let dL = deltaL >>> 0;
  let kappa: number;
  let n = 0; // digits so far (a local: the module-level nDigits is set on return)

  if (dH === 0 && p1 !== 0 && p1 < 1000000000) {
    // Shortcut, same result: delta < 2^32 < 2^sh, so the integral loop can only stop
    // where the rest of p1 is zero, and its GrisuRound is then a no-op (ten_kappa > delta).
    // Emit all of p1 at once with int32 arithmetic.
    n = countDigits(p1);
    for (let i = n - 1, v = p1 | 0; i >= 0; i--) {
      const q = (v / 10) | 0;
      digits[i] = 48 + v - q * 10;
      v = q;
    }
    if (p2H === 0 && p2L <= dL) {
      let m = n;
      while (m > 1 && digits[m - 1] === 48) m--;
      nDigits = m;
      decK += n - m;
      return;
    }
    kappa = 0;
  } else {
    // rapidjson's loop as written (subnormals, whose delta can be huge).
    kappa = countDigits(p1);
    while (kappa > 0) {
      const pow = POW10_32[kappa - 1]!;
      const d = Math.floor(p1 / pow);
      p1 -= d * pow;
      if (d !== 0 || n !== 0) digits[n++] = 48 + d;
      kappa--;
      const tH = p1 * D + p2H; // (p1 << sh) + p2
      if (tH < dH || (tH === dH && p2L <= dL)) {
        nDigits = n;
        decK += kappa;
        grisuRound(dH | 0, dL | 0, tH | 0, p2L | 0, (POW10_32[kappa]! * D) | 0, 0, wwH, wwL);
        return;
      }
    }
  }

  for (;;) {
    let x = p2L * 10;
    let c = Math.floor(x / TWO32);
    p2L = x - c * TWO32;
    p2H = p2H * 10 + c;
    x = dL * 10;
    c = Math.floor(x / TWO32);
    dL = x - c * TWO32;
    dH = dH * 10 + c;
    if (dH >= TWO32) dH -= Math.floor(dH / TWO32) * TWO32; // uint64 wrap; not reached for real doubles
    const d = Math.floor(p2H / D);
    if (d !== 0 || n !== 0) digits[n++] = 48 + d;
    p2H -= d * D;
    kappa--;
    if (p2H < dH || (p2H === dH && p2L < dL)) {
      fractionEnd(n, kappa, dH | 0, dL | 0, p2H | 0, p2L | 0, D | 0, wwH, wwL);
      return;
    }
  }
}

/**
 * End of DigitGen's fraction loop: record the digits, then GrisuRound with wp_w * 10^-kappa.
 * 64-bit halves arrive as int32 bit patterns.
 */
function fractionEnd(n: number, kappa: number, dH: number, dL: number, p2H: number, p2L: number, D: number, wwH: number, wwL: number): void {
  nDigits = n;
  decK += kappa;
  const index = -kappa;
  let fH = 0;
  let fL = 0;
  if (index < 20) {
    mulLow(wwH, wwL, POW10_HI[index]!, POW10_LO[index]!);
    fH = R[H]!;
    fL = R[L]!;
  }
  grisuRound(dH, dL, p2H, p2L, D, 0, fH, fL);
}

/** Products of the last boundaries() call: W, Wp, Wm as int32 halves (before ++/--). */
const PR = new Int32Array(6);

/** Stores round(h:m:l >> 32), i.e. h:m plus one if bit 31 of l is set, as PR[i], PR[i+1]. */
function storeRounded(i: number, h: number, m: number, l: number): void {
  if (l >= 0x80000000) {
    m += 1;
    if (m === TWO32) {
      m = 0;
      h += 1;
    }
  }
  PR[i] = h;
  PR[i + 1] = m;
}

/**
 * W = v*c, Wp = m+*c and Wm = m-*c for a normal double, from ONE exact 128-bit product:
 * there v = 2f * 2^10, m+ = v + 2^10 and m- = v - 2^mShift (mShift 9 when f is a power of
 * two, else 10), so Wp and Wm are the exact P +- (c << shift), each rounded like
 * DiyFp::operator* rounds. Same results as three separate products, a third of the cost.
 */
function normalProducts(vH: number, vL: number, cH: number, cL: number, mShift: number): void {
  mul128(vH, vL, cH, cL);
  const w0 = P4[0]!;
  const w1 = P4[1]!;
  const w2 = P4[2]!;
  const w3 = P4[3]!;
  storeRounded(0, w3, w2, w1);

  // Wp = P + (c << 10)
  let q0 = (cL << 10) >>> 0;
  let q1 = ((cL >>> 22) | (cH << 10)) >>> 0;
  let q2 = cH >>> 22;
  let t = w0 + q0;
  let carry = t >= TWO32 ? 1 : 0;
  t = w1 + q1 + carry;
  carry = t >= TWO32 ? 1 : 0;
  const s1 = t - carry * TWO32;
  t = w2 + q2 + carry;
  carry = t >= TWO32 ? 1 : 0;
  storeRounded(2, w3 + carry, t - carry * TWO32, s1);

  // Wm = P - (c << mShift)
  q0 = (cL << mShift) >>> 0;
  q1 = ((cL >>> (32 - mShift)) | (cH << mShift)) >>> 0;
  q2 = cH >>> (32 - mShift);
  t = w0 - q0;
  let borrow = t < 0 ? 1 : 0;
  t = w1 - q1 - borrow;
  borrow = t < 0 ? 1 : 0;
  const d1 = t + borrow * TWO32;
  t = w2 - q2 - borrow;
  borrow = t < 0 ? 1 : 0;
  storeRounded(4, w3 - borrow, t + borrow * TWO32, d1);
}

/**
 * The same three products for a subnormal double, by the book: boundaries normalized
 * separately, three rounded 64x64 multiplications.
 */
function subnormalProducts(fH: number, fL: number, cH: number, cL: number): void {
  shl64((fH << 1) | (fL >>> 31), (fL << 1) | 1, boundaryShift(fH, fL));
  mulHigh(R[H]!, R[L]!, cH, cL);
  PR[2] = R[H]!;
  PR[3] = R[L]!;
  const vs = clz64(fH, fL);
  shl64(fH, fL, vs);
  mulHigh(R[H]!, R[L]!, cH, cL);
  PR[0] = R[H]!;
  PR[1] = R[L]!;
  // m- = (2f-1) * 2^(e-1), aligned to m+'s exponent (f is never a power of two >= 2^52 here)
  sub64((fH << 1) | (fL >>> 31), fL << 1, 0, 1);
  shl64(R[H]!, R[L]!, boundaryShift(fH, fL));
  mulHigh(R[H]!, R[L]!, cH, cL);
  PR[4] = R[H]!;
  PR[5] = R[L]!;
}

/** Left shift that normalizes m+ = 2f+1 to bit 63. */
function boundaryShift(fH: number, fL: number): number {
  return clz64((fH << 1) | (fL >>> 31), (fL << 1) | 1);
}

/** Grisu2 for a positive, finite, non-zero double given by its bits. Sets digits/nDigits/decK. */
function grisu2(hi: number, lo: number): void {
  const biased = (hi >>> 20) & 0x7ff;
  let fH = hi & 0xfffff;
  const fL = lo | 0;
  let pE: number; // binary exponent of the normalized m+ (and of v)
  if (biased !== 0) {
    fH |= 0x100000;
    pE = biased - 1075 - 11;
  } else {
    pE = -1074 - 1 - boundaryShift(fH, fL);
  }

  // Cached power: ceil of a positive double, as rapidjson computes it.
  const dk = (-61 - pE) * 0.30102999566398114 + 347;
  let k = Math.trunc(dk);
  if (dk - k > 0) k++;
  const idx = (k >> 3) + 1;
  decK = 348 - 8 * idx;
  const cH = CP_HI[idx]!;
  const cL = CP_LO[idx]!;
  const sh = -(pE + CP_E[idx]! + 64);

  if (biased !== 0) {
    normalProducts((fH << 11) | (fL >>> 21), fL << 11, cH, cL, fH === 0x100000 && fL === 0 ? 9 : 10);
  } else {
    subnormalProducts(fH, fL, cH, cL);
  }
  sub64(PR[2]!, PR[3]!, 0, 1); // Wp.f--
  const wpH = R[H]!;
  const wpL = R[L]!;
  add64(PR[4]!, PR[5]!, 0, 1); // Wm.f++
  sub64(wpH, wpL, R[H]!, R[L]!);
  const dH = R[H]!;
  const dL = R[L]!;
  sub64(wpH, wpL, PR[0]!, PR[1]!);
  digitGen(wpH, wpL, sh, dH, dL, R[H]!, R[L]!);
}

/** Writes a decimal exponent without '+' and without leading zeros (WriteExponent). */
function writeExponent(out: Uint8Array, pos: number, k: number): number {
  if (k < 0) {
    out[pos++] = 45; // '-'
    k = -k;
  }
  if (k >= 100) {
    out[pos++] = 48 + Math.floor(k / 100);
    k %= 100;
    out[pos++] = 48 + Math.floor(k / 10);
    out[pos++] = 48 + (k % 10);
  } else if (k >= 10) {
    out[pos++] = 48 + Math.floor(k / 10);
    out[pos++] = 48 + (k % 10);
  } else {
    out[pos++] = 48 + k;
  }
  return pos;
}

/** rapidjson's Prettify for the digits in `digits[0..length)` times 10^k. */
function prettify(out: Uint8Array, pos: number, length: number, k: number): number {
  const kk = length + k; // 10^(kk-1) <= v < 10^kk
  if (k >= 0 && kk <= 21) {
    // 1234e7 -> 12340000000.0
    for (let i = 0; i < length; i++) out[pos++] = digits[i]!;
    for (let i = length; i < kk; i++) out[pos++] = 48;
    out[pos++] = 46;
    out[pos++] = 48;
    return pos;
  }
  if (kk > 0 && kk <= 21) {
    // 1234e-2 -> 12.34
    for (let i = 0; i < kk; i++) out[pos++] = digits[i]!;
    out[pos++] = 46;
    for (let i = kk; i < length; i++) out[pos++] = digits[i]!;
    return pos;
  }
  if (kk > -6 && kk <= 0) {
    // 1234e-6 -> 0.001234
    out[pos++] = 48;
    out[pos++] = 46;
    for (let i = kk; i < 0; i++) out[pos++] = 48;
    for (let i = 0; i < length; i++) out[pos++] = digits[i]!;
    return pos;
  }
  // The maxDecimalPlaces truncation branches cannot trigger at Zeek's default of 324.
  out[pos++] = digits[0]!;
  if (length > 1) {
    // 1234e30 -> 1.234e33
    out[pos++] = 46;
    for (let i = 1; i < length; i++) out[pos++] = digits[i]!;
  }
  out[pos++] = 101; // 'e'
  return writeExponent(out, pos, kk - 1);
}

/** Upper bound of bytes {@link writeDouble} writes. */
export const MAX_DOUBLE_CHARS = 32;

const NULL_BYTES = [110, 117, 108, 108];

/**
 * Writes the double with IEEE bits hi:lo as Zeek's JSON writer does: rapidjson text,
 * `null` for NaN and infinities (NullDoubleWriter). Needs {@link MAX_DOUBLE_CHARS} bytes.
 */
export function writeDouble(out: Uint8Array, pos: number, hi: number, lo: number): number {
  if ((hi & 0x7ff00000) === 0x7ff00000) {
    for (let i = 0; i < 4; i++) out[pos++] = NULL_BYTES[i]!;
    return pos;
  }
  if (hi >>> 31) out[pos++] = 45; // '-' (also for -0.0)
  const ahi = hi & 0x7fffffff;
  if (ahi === 0 && lo === 0) {
    out[pos++] = 48;
    out[pos++] = 46;
    out[pos++] = 48;
    return pos;
  }
  grisu2(ahi, lo);
  return prettify(out, pos, nDigits, decK);
}

const f64 = new Float64Array(1);
const u8 = new Uint8Array(f64.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** IEEE bits of x as [hi, lo] int32 patterns. */
export function doubleBits(x: number): [number, number] {
  f64[0] = x;
  const w = (i: number): number => (LE ? u8[i]! : u8[7 - i]!);
  const lo = w(0) | (w(1) << 8) | (w(2) << 16) | (w(3) << 24);
  const hi = w(4) | (w(5) << 8) | (w(6) << 16) | (w(7) << 24);
  return [hi, lo];
}

const scratch = Buffer.alloc(MAX_DOUBLE_CHARS);

/** The text Zeek writes for x (`null` for NaN/Infinity). Convenience for tests and tools. */
export function formatDouble(x: number): string {
  const [hi, lo] = doubleBits(x);
  const end = writeDouble(scratch, 0, hi, lo);
  return scratch.toString('latin1', 0, end);
}

/** Raw Grisu2 output for a positive finite non-zero x: digit string and exponent (for tests). */
export function grisu2Digits(x: number): { digits: string; k: number } {
  const [hi, lo] = doubleBits(x);
  grisu2(hi & 0x7fffffff, lo);
  return { digits: Buffer.from(digits.subarray(0, nDigits)).toString('latin1'), k: decK };
}
