/**
 * Renders records straight from the wire into Zeek's JSON text (§6), one pass, no
 * intermediate value objects: each value is read from the cursor and written into a
 * reused output slab. Validation that Zeek applies per value (§4.6) happens here too.
 */
import { MAX_ADDR_CHARS, writeIPv4, writeIPv6 } from './addr.js';
import type { BinReader } from '../binary/reader.js';
import { MAX_DOUBLE_CHARS, writeDouble } from './dtoa.js';
import { maxEscapedLength, viewOf, writeZeekStringWords } from './escape.js';
import { MAX_INT_CHARS, writeI64, writeU64, writeUintNumber } from './int-text.js';
import type { Schema } from '../binary/schema.js';
import { MAX_TIME_CHARS, writeIso8601, writeMillis } from './time-format.js';
import { DecodeFailure, type RenderOptions, type TimestampMode } from '../types.js';

const enum Ts {
  Epoch,
  Millis,
  MillisUnsigned,
  Iso8601,
}

const TS_MODES: Record<TimestampMode, Ts> = {
  epoch: Ts.Epoch,
  millis: Ts.Millis,
  'millis-unsigned': Ts.MillisUnsigned,
  iso8601: Ts.Iso8601,
};

/** Room for any fixed-size value: numbers, time, `"addr/len"`, true/false/null. */
const SCALAR_ROOM = Math.max(MAX_DOUBLE_CHARS, MAX_INT_CHARS, MAX_TIME_CHARS, MAX_ADDR_CHARS + 14) + 4;

const EMPTY = Buffer.alloc(0);

/** Bytes every value starts with: type int32, subtype int32, present bool. */
export const VALUE_HEADER_BYTES = 9;

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/**
 * Output slabs: batches are rendered one after another into a shared slab, and records
 * are views into it, like Node's own Buffer pool. No copy at the end of a batch and no
 * allocation per batch; the price is that a record that is held keeps its slab alive.
 */
export class JsonRecordWriter {
  /** The current slab; the current batch occupies [start, pos). */
  out: Buffer = EMPTY;
  /** View of `out` for 4-byte writes. */
  private dv: DataView = viewOf(EMPTY);
  pos = 0;
  /** Where the current batch starts in `out`. */
  start = 0;
  /** End of the last batch handed out; the next one starts after it. */
  private committed = 0;
  private limit = Infinity;
  /** min(out.length, start + limit): ensure() beyond it grows or rejects. */
  private cap = 0;
  private ts: Ts = Ts.Epoch;
  private includeUnset = false;
  private maxDepth = 4;
  /** Room the rest of the current record may need besides strings (see record()). */
  private slack = 0;

  constructor(private readonly slabSize = 256 * 1024) {}

  /**
   * Starts a batch that will probably need about `expected` bytes: after the previous
   * batch in the current slab, or in a new slab when the rest is too small.
   */
  begin(opts: RenderOptions, maxOutputBytes: number, maxDepth: number, expected: number): void {
    this.limit = maxOutputBytes;
    const start = (this.committed + 7) & ~7;
    const want = Math.min(expected, maxOutputBytes);
    // A slab that grew for one big batch serves only that batch: smaller batches that
    // follow must not keep it alive after its records are gone.
    const oversized = this.out.length > 4 * this.slabSize;
    if (oversized || start + want > this.out.length) this.newSlab(Math.max(this.slabSize, want + (want >> 2)), 0);
    else this.start = start;
    this.pos = this.start;
    this.cap = Math.min(this.out.length, this.start + this.limit);
    this.maxDepth = maxDepth;
    this.includeUnset = opts.includeUnsetFields === true;
    const ts = TS_MODES[opts.timestamps ?? 'epoch'];
    if (ts === undefined) throw new TypeError(`unknown timestamps mode ${String(opts.timestamps)}`);
    this.ts = ts;
  }

  /** Hands out [start, pos): later batches will not overwrite it. */
  commit(): void {
    this.committed = this.pos;
  }

  /**
   * Makes room for n more bytes. Requests are worst cases (a record's keys and scalars,
   * 6 bytes per string byte), so the output limit is enforced within that margin.
   */
  private ensure(n: number): void {
    if (this.pos + n > this.cap) this.grow(n);
  }

  /** Moves the batch so far into a bigger slab of its own, or rejects it. */
  private grow(n: number): void {
    const used = this.pos - this.start;
    if (used + n > this.limit) {
      throw new DecodeFailure('too-large', `rendered batch would exceed ${this.limit} bytes`);
    }
    this.newSlab(Math.min(Math.max(this.slabSize, 2 * (used + n)), Math.max(used + n, this.limit)), used);
    this.cap = Math.min(this.out.length, this.limit);
  }

  /** Continues the batch in a new slab, copying its first `used` bytes. */
  private newSlab(size: number, used: number): void {
    const next = Buffer.allocUnsafe(size);
    this.out.copy(next, 0, this.start, this.start + used);
    this.out = next;
    this.dv = viewOf(next);
    this.pos = used;
    this.start = 0;
    this.committed = 0;
  }

  private bytes(b: readonly number[]): void {
    const out = this.out;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) out[p++] = b[i]!;
    this.pos = p;
  }

  /** Renders one record (F values in schema order) as a JSON object. */
  record(r: BinReader, schema: Schema): void {
    const { types, keyWords, keyWordAt, keyLen } = schema;
    const n = types.length;
    // One capacity check covers every key and fixed-size value of the record; strings
    // and containers add their own needs on top of this slack.
    const room = schema.keyRoom + n * SCALAR_ROOM + 2;
    this.slack = room;
    this.ensure(room);
    this.out[this.pos++] = 0x7b; // {
    const includeUnset = this.includeUnset;
    let first = 1;
    for (let i = 0; i < n; i++) {
      const b = r.buf;
      const p = r.pos;
      if (r.end - p < VALUE_HEADER_BYTES) r.need(VALUE_HEADER_BYTES, 'value header');
      const tag = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
      const present = b[p + 8] === 1; // subtype (p+4..p+7) is ignored, like Zeek does
      r.pos = p + VALUE_HEADER_BYTES;
      if (tag !== types[i]) {
        throw new DecodeFailure('type-mismatch', `field ${schema.fields[i]!.name}: value type ${tag}, field type ${types[i]}`);
      }
      if (!present && !includeUnset) continue;
      // Key prefix `,"name":`, or `"name":` for the first member.
      const v = 2 * i + first;
      const dv = this.dv;
      const pos = this.pos;
      const end = pos + keyLen[v]!;
      for (let w = keyWordAt[v]!, o = pos; o < end; w++, o += 4) dv.setInt32(o, keyWords[w]!);
      this.pos = end;
      first = 0;
      if (present) this.value(r, tag, 0);
      else this.bytes(NULL);
    }
    this.out[this.pos++] = 0x7d; // }
  }

  /**
   * Renders the body of a present value; the caller has ensured SCALAR_ROOM bytes.
   * Cases are literal TypeTag values so the switch compiles to a jump table.
   */
  private value(r: BinReader, tag: number, depth: number): void {
    switch (tag) {
      case 1: // BOOL
        r.u64('bool');
        this.bytes(r.hi !== 0 || r.lo !== 0 ? TRUE : FALSE);
        return;
      case 2: // INT
        r.u64('int');
        this.pos = writeI64(this.out, this.pos, r.hi, r.lo);
        return;
      case 3: // COUNT
        r.u64('count');
        this.pos = writeU64(this.out, this.pos, r.hi, r.lo);
        return;
      case 4: // DOUBLE
      case 6: // INTERVAL
        r.u64('double');
        this.pos = writeDouble(this.out, this.pos, r.hi, r.lo);
        return;
      case 5: // TIME
        this.time(r);
        return;
      case 7: // STRING
      case 9: // ENUM
      case 17: // FUNC
      case 18: { // FILE
        const start = r.str('string');
        this.ensure(maxEscapedLength(r.pos - start) + this.slack);
        this.pos = writeZeekStringWords(this.out, this.dv, this.pos, r.buf, r.view, start, r.pos);
        return;
      }
      case 10: { // PORT
        r.u64('port');
        const proto = r.i32('port proto');
        if (proto < 0 || proto > 3) throw new DecodeFailure('bad-proto', `port proto ${proto}`);
        this.pos = writeU64(this.out, this.pos, r.hi, r.lo);
        return;
      }
      case 11: // ADDR
        this.out[this.pos++] = 0x22;
        this.addr(r);
        this.out[this.pos++] = 0x22;
        return;
      case 12: // SUBNET
        this.subnet(r);
        return;
      case 14: // TABLE
      case 19: // VECTOR
        this.container(r, depth);
        return;
      default:
        throw new DecodeFailure('bad-type', `type tag ${tag} cannot be a present value`);
    }
  }

  private time(r: BinReader): void {
    if (this.ts === Ts.Epoch) {
      r.u64('time');
      this.pos = writeDouble(this.out, this.pos, r.hi, r.lo);
      return;
    }
    const t = r.f64('time');
    if (this.ts === Ts.Iso8601) this.pos = writeIso8601(this.out, this.pos, t);
    else this.pos = writeMillis(this.out, this.pos, t, this.ts === Ts.MillisUnsigned);
  }

  /** Reads family and address bytes; writes the address text (no quotes). Returns the family. */
  private addr(r: BinReader): number {
    const family = r.u8('addr family');
    if (family === 4) {
      r.need(4, 'IPv4 address');
      this.pos = writeIPv4(this.out, this.pos, r.buf, r.pos);
      r.pos += 4;
    } else if (family === 6) {
      r.need(16, 'IPv6 address');
      this.pos = writeIPv6(this.out, this.pos, r.buf, r.pos);
      r.pos += 16;
    } else {
      throw new DecodeFailure('bad-family', `address family ${family}`);
    }
    return family;
  }

  private subnet(r: BinReader): void {
    const length = r.u8('subnet length');
    this.out[this.pos++] = 0x22;
    const family = this.addr(r);
    this.out[this.pos++] = 0x2f; // /
    // The wire length counts from 128 bits; Zeek prints (uint32)(length - 96) for IPv4.
    this.pos = writeUintNumber(this.out, this.pos, family === 4 ? (length - 96) >>> 0 : length);
    this.out[this.pos++] = 0x22;
  }

  private container(r: BinReader, depth: number): void {
    r.u64('container size');
    const hi = r.hi;
    const n = r.lo >>> 0;
    if (hi < 0) throw new DecodeFailure('bad-count', 'negative container size');
    // Each element needs at least its 9-byte header.
    if (hi !== 0 || n > r.remaining / VALUE_HEADER_BYTES) {
      throw new DecodeFailure('bad-count', `container size ${hi * 4294967296 + n} cannot fit in ${r.remaining} bytes`);
    }
    if (depth >= this.maxDepth) throw new DecodeFailure('too-deep', `containers nested deeper than ${this.maxDepth}`);
    this.out[this.pos++] = 0x5b; // [
    for (let i = 0; i < n; i++) {
      this.ensure(1 + SCALAR_ROOM + this.slack);
      if (i !== 0) this.out[this.pos++] = 0x2c;
      const tag = r.i32('element type');
      r.skip(4, 'element subtype');
      if (r.u8('element present') === 1) this.value(r, tag, depth + 1);
      else this.bytes(NULL); // vector holes
    }
    this.out[this.pos++] = 0x5d; // ] (in the slack, as the container's own scalar room)
  }
}
