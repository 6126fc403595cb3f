/**
 * Decimal text of 64-bit integers given as two 32-bit halves (int32 bit patterns, see
 * bin-reader.ts), as rapidjson's Int64/Uint64 write them. Values below 2^53 stay on
 * plain numbers; only larger ones (rare: hostile input or huge counters) use BigInt.
 */

const TWO32 = 4294967296;
/** hi below this means hi * 2^32 + lo < 2^53. */
const SAFE_HI = 0x200000;

/** Longest text: `-9223372036854775808` or `18446744073709551615`. */
export const MAX_INT_CHARS = 20;

function digitCount32(n: number): number {
  if (n < 100000) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
  return n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
}

/** Writes a non-negative integer below 2^53. */
export function writeUintNumber(out: Uint8Array, pos: number, n: number): number {
  if (n < 2147483648) {
    // int32 arithmetic for the common case (ports, sizes, counters)
    const end = pos + digitCount32(n);
    let v = n | 0;
    let p = end;
    while (v >= 10) {
      const q = (v / 10) | 0;
      out[--p] = 48 + v - q * 10;
      v = q;
    }
    out[--p] = 48 + v;
    return end;
  }
  let len = 10;
  for (let t = Math.floor(n / 1e10); t >= 1; t = Math.floor(t / 10)) len++;
  let p = pos + len;
  let v = n;
  while (v >= 10) {
    const q = Math.floor(v / 10);
    out[--p] = 48 + (v - q * 10);
    v = q;
  }
  out[--p] = 48 + v;
  return pos + len;
}

/** Writes an ASCII string byte by byte. */
export function writeAscii(out: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes the uint64 hi:lo. */
export function writeU64(out: Uint8Array, pos: number, hi: number, lo: number): number {
  const h = hi >>> 0;
  const l = lo >>> 0;
  if (h < SAFE_HI) return writeUintNumber(out, pos, h * TWO32 + l);
  return writeAscii(out, pos, ((BigInt(h) << 32n) | BigInt(l)).toString());
}

/** Writes the int64 hi:lo (two's complement). */
export function writeI64(out: Uint8Array, pos: number, hi: number, lo: number): number {
  hi |= 0;
  const l = lo >>> 0;
  if (hi >= -SAFE_HI && hi < SAFE_HI) {
    const n = hi * TWO32 + l;
    if (n >= 0) return writeUintNumber(out, pos, n);
    out[pos++] = 45;
    return writeUintNumber(out, pos, -n);
  }
  return writeAscii(out, pos, BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(l)).toString());
}

/** Writes an integer-valued double in [-2^64, 2^64) exactly. */
export function writeIntegralDouble(out: Uint8Array, pos: number, v: number): number {
  if (v >= 0 && v < 2 ** 53) return writeUintNumber(out, pos, v);
  if (v < 0 && v > -(2 ** 53)) {
    out[pos++] = 45;
    return writeUintNumber(out, pos, -v);
  }
  return writeAscii(out, pos, BigInt(v).toString());
}
