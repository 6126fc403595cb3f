/**
 * `time` values in the non-epoch `LogAscii::json_timestamps` modes (spec §6.5).
 * Conversions mirror Zeek's C++ on x86-64 glibc, the platform the ground truth came from.
 */
import { writeAscii, writeIntegralDouble, writeUintNumber } from './int-text.js';

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/** Longest text of {@link writeMillis} and {@link writeIso8601}. */
export const MAX_TIME_CHARS = 48;

/**
 * `(int64_t)(t * 1000)` and, when `unsigned`, its reinterpretation as uint64. NaN and
 * out-of-range products give INT64_MIN, the x86-64 conversion result.
 */
export function writeMillis(out: Uint8Array, pos: number, t: number, unsigned: boolean): number {
  const v = t * 1000;
  let m = v >= -TWO63 && v < TWO63 ? Math.trunc(v) : -TWO63; // NaN fails both tests
  if (m === 0) m = 0; // -0 -> 0
  if (unsigned && m < 0) {
    // 2^64 + m is exact in BigInt; m is an integral double.
    return writeAscii(out, pos, (BigInt(TWO64) + BigInt(m)).toString());
  }
  return writeIntegralDouble(out, pos, m);
}

function write2(out: Uint8Array, pos: number, n: number): number {
  out[pos++] = 48 + ((n / 10) | 0);
  out[pos++] = 48 + (n % 10);
  return pos;
}

const FALLBACK = '"2000-01-01T00:00:00.000000"';

/**
 * `"%Y-%m-%dT%H:%M:%S" + printf(".%06.0f", frac * 1e6) + "Z"`, quoted. Reproduces
 * ties-to-even rounding of the microseconds, the 7-digit `.1000000` when they round up
 * to a full second, negative times, and the fallback text (without `Z`) when gmtime
 * fails. %Y is glibc's: no padding, `-` for years before 0 (irrelevant in practice).
 */
export function writeIso8601(out: Uint8Array, pos: number, t: number): number {
  const secs = Math.floor(t);
  // time_t(floor(t)) is INT64_MIN for NaN/inf/out of range on x86-64; gmtime then fails.
  if (!(secs >= -TWO63 && secs < TWO63)) return writeAscii(out, pos, FALLBACK);
  let days: number;
  let sod: number;
  if (Math.abs(secs) < 2 ** 53) {
    days = Math.floor(secs / 86400);
    sod = secs - days * 86400;
  } else {
    const b = BigInt(secs);
    let d = b / 86400n;
    if (b < 0n && d * 86400n !== b) d -= 1n;
    days = Number(d);
    sod = Number(b - d * 86400n);
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // gmtime_r fails when tm_year (year - 1900) does not fit an int.
  if (year - 1900 > 2147483647 || year - 1900 < -2147483648) return writeAscii(out, pos, FALLBACK);

  out[pos++] = 0x22;
  if (year < 0) {
    out[pos++] = 45;
    pos = writeUintNumber(out, pos, -year);
  } else {
    pos = writeUintNumber(out, pos, year);
  }
  out[pos++] = 45;
  pos = write2(out, pos, month);
  out[pos++] = 45;
  pos = write2(out, pos, day);
  out[pos++] = 84; // T
  pos = write2(out, pos, Math.floor(sod / 3600));
  out[pos++] = 58;
  pos = write2(out, pos, Math.floor(sod / 60) % 60);
  out[pos++] = 58;
  pos = write2(out, pos, sod % 60);
  out[pos++] = 46;

  // modf fraction, shifted into [0, 1) for negative times; then %.0f (ties to even).
  let frac = t - Math.trunc(t);
  if (frac < 0) frac += 1;
  const x = Math.abs(frac) * 1e6;
  let r = Math.floor(x);
  const d = x - r;
  if (d > 0.5 || (d === 0.5 && r % 2 === 1)) r++;
  // %06: zero-pad to 6 digits; 1000000 keeps its 7 digits.
  for (let lim = 100000; lim > 1 && r < lim; lim /= 10) out[pos++] = 48;
  pos = writeUintNumber(out, pos, r);
  out[pos++] = 90; // Z
  out[pos++] = 0x22;
  return pos;
}
