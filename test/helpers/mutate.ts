// Mutation fuzzing of multipart ZeroMQ messages (arrays of frames), for any ingress
// decoder: bit flips, interesting integers over length/count-sized windows, truncation,
// splices of two messages, inserted/deleted chunks and frame-level changes. Inputs are
// never modified; every mutation returns fresh buffers. Deterministic for a given seed.

export interface Rng {
  /** Uniform uint32. */
  u32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** xorshift128 seeded through splitmix32: fast, good enough for fuzzing, reproducible. */
export function makeRng(seed: number): Rng {
  let z = seed >>> 0;
  const split = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
    return (t ^ (t >>> 16)) >>> 0;
  };
  let a = split() | 1;
  let b = split();
  let c = split();
  let d = split();
  const u32 = (): number => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return d;
  };
  return {
    u32,
    int: (n) => (n <= 0 ? 0 : Math.floor((u32() / 4294967296) * n)),
    chance: (p) => u32() / 4294967296 < p,
    pick: (items) => items[Math.floor((u32() / 4294967296) * items.length)]!,
  };
}

/** 32-bit values that break length and count checks: zero, signs, powers of two, extremes. */
const INTERESTING_32 = [0, 1, 2, 3, 4, 8, 9, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x40000000, 0x1000000];
/** 64-bit values as [hi, lo]. */
const INTERESTING_64: [number, number][] = [
  [0, 0],
  [0, 1],
  [0xffffffff, 0xffffffff],
  [0x7fffffff, 0xffffffff],
  [0x80000000, 0],
  [0, 0xffffffff],
  [1, 0],
  [0, 0x80000000],
  [0x7ff00000, 0], // +inf as a double
  [0x7ff80000, 0], // NaN
  [0xfff00000, 0], // -inf
  [0x80000000, 1],
];

export interface Mutation {
  frames: Buffer[];
  /** Names of the operations applied, for reproducing failures. */
  ops: string[];
}

/** A position biased toward the start, where headers, lengths and counts live. */
function position(rng: Rng, len: number): number {
  if (len === 0) return 0;
  return rng.chance(0.5) ? rng.int(Math.min(len, 512)) : rng.int(len);
}

type FrameOp = (f: Buffer, rng: Rng, other: Buffer) => Buffer;

const FRAME_OPS: Record<string, FrameOp> = {
  bitflip(f, rng) {
    const b = Buffer.from(f);
    for (let i = 1 + rng.int(8); i > 0 && b.length > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
    return b;
  },
  byte(f, rng) {
    const b = Buffer.from(f);
    if (b.length > 0) b[position(rng, b.length)] = rng.pick([0, 1, 2, 4, 6, 0x7f, 0x80, 0xff, rng.int(256)]);
    return b;
  },
  int32(f, rng) {
    const b = Buffer.from(f);
    if (b.length < 4) return b;
    const v = rng.chance(0.8) ? rng.pick(INTERESTING_32) : rng.u32();
    b.writeUInt32BE(v >>> 0, position(rng, b.length - 3));
    return b;
  },
  int64(f, rng) {
    const b = Buffer.from(f);
    if (b.length < 8) return b;
    const [hi, lo] = rng.chance(0.8) ? rng.pick(INTERESTING_64) : [rng.u32(), rng.u32()];
    const at = position(rng, b.length - 7);
    b.writeUInt32BE(hi >>> 0, at);
    b.writeUInt32BE(lo >>> 0, at + 4);
    return b;
  },
  /** Adds or subtracts a little from a 32-bit window: lengths off by a few bytes. */
  nudge(f, rng) {
    const b = Buffer.from(f);
    if (b.length < 4) return b;
    const at = position(rng, b.length - 3);
    b.writeInt32BE((b.readInt32BE(at) + rng.int(17) - 8) | 0, at);
    return b;
  },
  truncate(f, rng) {
    return Buffer.from(f.subarray(0, rng.int(f.length + 1)));
  },
  splice(f, rng, other) {
    return Buffer.concat([f.subarray(0, rng.int(f.length + 1)), other.subarray(rng.int(other.length + 1))]);
  },
  insert(f, rng) {
    const at = rng.int(f.length + 1);
    const chunk = rng.chance(0.5) ? f.subarray(rng.int(f.length + 1)).subarray(0, 1 + rng.int(64)) : Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)));
    return Buffer.concat([f.subarray(0, at), chunk, f.subarray(at)]);
  },
  delete(f, rng) {
    const at = rng.int(f.length + 1);
    return Buffer.concat([f.subarray(0, at), f.subarray(at + 1 + rng.int(64))]);
  },
};

const FRAME_OP_NAMES = Object.keys(FRAME_OPS);

/** Frame-level changes: wrong counts, reordering, foreign frames. */
function messageOp(frames: Buffer[], rng: Rng, other: readonly Buffer[]): [Buffer[], string] {
  const f = [...frames];
  switch (rng.int(6)) {
    case 0:
      f.splice(rng.int(f.length), 1);
      return [f, 'drop-frame'];
    case 1:
      f.splice(rng.int(f.length + 1), 0, f.length > 0 ? f[rng.int(f.length)]! : Buffer.alloc(0));
      return [f, 'dup-frame'];
    case 2:
      f.push(Buffer.alloc(rng.int(4)));
      return [f, 'extra-frame'];
    case 3: {
      if (f.length < 2) return [f, 'swap-frames'];
      const i = rng.int(f.length);
      const j = rng.int(f.length);
      [f[i], f[j]] = [f[j]!, f[i]!];
      return [f, 'swap-frames'];
    }
    case 4:
      if (f.length > 0) f[rng.int(f.length)] = Buffer.from(Array.from({ length: rng.int(32) }, () => rng.int(256)));
      return [f, 'random-frame'];
    default:
      if (other.length > 0 && f.length > 0) {
        const i = rng.int(Math.min(f.length, other.length));
        f[i] = other[i]!;
      }
      return [f, 'foreign-frame'];
  }
}

/**
 * Applies 1-3 mutations to a message. Most target the largest frame (the payload); one
 * in ten changes the frames themselves. `corpus` supplies the second message for splices.
 */
export function mutateMessage(frames: readonly Buffer[], corpus: readonly (readonly Buffer[])[], rng: Rng): Mutation {
  let out = [...frames];
  const ops: string[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const other = corpus.length > 0 ? rng.pick(corpus) : frames;
    if (out.length === 0 || rng.chance(0.1)) {
      const [next, name] = messageOp(out, rng, other);
      out = next;
      ops.push(name);
      continue;
    }
    let target = 0;
    for (let i = 1; i < out.length; i++) if (out[i]!.length > out[target]!.length) target = i;
    if (rng.chance(0.15)) target = rng.int(out.length);
    const name = rng.pick(FRAME_OP_NAMES);
    out[target] = FRAME_OPS[name]!(out[target]!, rng, other[target] ?? other[other.length - 1] ?? Buffer.alloc(0));
    ops.push(`${name}@${target}`);
  }
  return { frames: out, ops };
}
