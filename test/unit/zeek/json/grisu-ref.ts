// A slow, literal BigInt transcription of rapidjson's Grisu2 (DiyFp, GetCachedPower,
// DigitGen, GrisuRound), used only to cross-check the fast number-limb version in
// src/zeek/json/dtoa.ts on millions of doubles. Every 64-bit operation wraps like C uint64.
import { cachedPower } from '../../../../src/zeek/json/dtoa.js';

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => x & M64;

interface Diy {
  f: bigint;
  e: number;
}

function clz64(f: bigint): number {
  let n = 0;
  while (n < 64 && !((f >> BigInt(63 - n)) & 1n)) n++;
  return n;
}

/** Upper 64 bits of the exact 128-bit product, rounded on bit 63 of the low half. */
function mul(a: Diy, b: Diy): Diy {
  const p = a.f * b.f;
  let h = p >> 64n;
  if ((p >> 63n) & 1n) h += 1n;
  return { f: u64(h), e: a.e + b.e + 64 };
}

export interface RefResult {
  digits: string;
  k: number;
  /** -one.e in DigitGen, to check the assumed 32..60 range of the fast version. */
  shift: number;
}

/** Grisu2 digits and decimal exponent for a positive finite non-zero double. */
export function refGrisu2(value: number): RefResult {
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, value);
  const u = bits.getBigUint64(0);
  const biased = Number((u >> 52n) & 0x7ffn);
  const sig = u & ((1n << 52n) - 1n);
  const hidden = 1n << 52n;
  const v: Diy = biased !== 0 ? { f: sig + hidden, e: biased - 1075 } : { f: sig, e: -1074 };

  // NormalizedBoundaries
  let pl: Diy = { f: (v.f << 1n) + 1n, e: v.e - 1 };
  while (!(pl.f & (hidden << 1n))) {
    pl = { f: pl.f << 1n, e: pl.e - 1 };
  }
  pl = { f: u64(pl.f << 10n), e: pl.e - 10 };
  const mi: Diy = v.f === hidden ? { f: (v.f << 2n) - 1n, e: v.e - 2 } : { f: (v.f << 1n) - 1n, e: v.e - 1 };
  mi.f = u64(mi.f << BigInt(mi.e - pl.e));
  mi.e = pl.e;

  // GetCachedPower
  const dk = (-61 - pl.e) * 0.30102999566398114 + 347;
  let kc = Math.trunc(dk);
  if (dk - kc > 0) kc++;
  const index = (kc >> 3) + 1;
  let K = -(-348 + index * 8);
  const [ch, cl, ce] = cachedPower(index);
  const c: Diy = { f: (BigInt(ch) << 32n) | BigInt(cl), e: ce };

  const s = clz64(v.f);
  const W = mul({ f: u64(v.f << BigInt(s)), e: v.e - s }, c);
  const Wp = mul(pl, c);
  const Wm = mul(mi, c);
  Wm.f = u64(Wm.f + 1n);
  Wp.f = u64(Wp.f - 1n);
  let delta = u64(Wp.f - Wm.f);

  // DigitGen
  const sh = -Wp.e;
  const one = 1n << BigInt(sh);
  const wpw = u64(Wp.f - W.f);
  let p1 = Number(Wp.f >> BigInt(sh));
  let p2 = Wp.f & (one - 1n);
  const buf: number[] = [];
  let kappa = p1 < 10 ? 1 : p1 < 100 ? 2 : p1 < 1e3 ? 3 : p1 < 1e4 ? 4 : p1 < 1e5 ? 5 : p1 < 1e6 ? 6 : p1 < 1e7 ? 7 : p1 < 1e8 ? 8 : 9;

  const round = (rest: bigint, tenKappa: bigint, wp_w: bigint): void => {
    while (
      rest < wp_w &&
      u64(delta - rest) >= tenKappa &&
      (u64(rest + tenKappa) < wp_w || u64(wp_w - rest) > u64(rest + tenKappa - wp_w))
    ) {
      buf[buf.length - 1]!--;
      rest = u64(rest + tenKappa);
    }
  };

  while (kappa > 0) {
    const pow = 10 ** (kappa - 1);
    const d = Math.floor(p1 / pow);
    p1 %= pow;
    if (d || buf.length) buf.push(48 + d);
    kappa--;
    const tmp = u64((BigInt(p1) << BigInt(sh)) + p2);
    if (tmp <= delta) {
      K += kappa;
      round(tmp, u64(10n ** BigInt(kappa) << BigInt(sh)), wpw);
      return { digits: String.fromCharCode(...buf), k: K, shift: sh };
    }
  }
  for (;;) {
    p2 = u64(p2 * 10n);
    delta = u64(delta * 10n);
    const d = Number(p2 >> BigInt(sh));
    if (d || buf.length) buf.push(48 + d);
    p2 &= one - 1n;
    kappa--;
    if (p2 < delta) {
      K += kappa;
      const idx = -kappa;
      round(p2, one, u64(wpw * (idx < 20 ? 10n ** BigInt(idx) : 0n)));
      return { digits: String.fromCharCode(...buf), k: K, shift: sh };
    }
  }
}
