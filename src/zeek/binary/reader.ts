import { DecodeFailure } from '../types.js';

/**
 * Bounds-checked big-endian cursor over one payload (Zeek's BinarySerializationFormat).
 * Every read checks the remaining bytes first and throws a {@link DecodeFailure}
 * ('truncated') instead of reading past the end. 64-bit reads leave their halves in
 * `hi`/`lo` so that callers can stay on plain numbers unless a value needs BigInt.
 *
 * Convention for 64-bit halves throughout src/zeek: each half is the raw 32-bit pattern
 * as an int32. int32 values are V8 small integers, so passing them to functions and
 * storing them in fields never allocates; uint32 values above 2^31 would be boxed.
 */
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

export class BinReader {
  buf: Buffer = EMPTY;
  /** DataView over `buf`, for word-at-a-time string copies. */
  view: DataView = EMPTY_VIEW;
  pos = 0;
  end = 0;
  /** High 32 bits of the last 64-bit read, as int32. */
  hi = 0;
  /** Low 32 bits of the last 64-bit read, as int32. */
  lo = 0;

  reset(buf: Buffer, start = 0, end = buf.length): this {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.pos = start;
    this.end = end;
    return this;
  }

  /** Drops the reference to the payload. */
  release(): void {
    this.buf = EMPTY;
    this.view = EMPTY_VIEW;
    this.pos = 0;
    this.end = 0;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new DecodeFailure('truncated', `${what}: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  /** Zeek's bool: exactly 0x01 is true, any other byte is false. */
  bool(what: string): boolean {
    return this.u8(what) === 1;
  }

  i32(what: string): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  u32(what: string): number {
    return this.i32(what) >>> 0;
  }

  /** Reads 8 bytes into `hi`/`lo`. */
  u64(what: string): void {
    this.need(8, what);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 8;
    this.hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    this.lo = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  }

  /** Reads an IEEE-754 double; its bits are left in `hi`/`lo` as well. */
  f64(what: string): number {
    this.u64(what);
    return this.buf.readDoubleBE(this.pos - 8);
  }

  /**
   * Reads a string header (int32 length) and skips its bytes. Returns the offset of the
   * first byte; the length is `pos - start` afterwards.
   */
  str(what: string): number {
    const n = this.i32(what);
    if (n < 0 || n > this.end - this.pos) {
      throw new DecodeFailure('bad-length', `${what}: length ${n} at offset ${this.pos - 4}, ${this.end - this.pos} left`);
    }
    const start = this.pos;
    this.pos = start + n;
    return start;
  }

  /** Reads a string and decodes it as UTF-8 (for header and schema names). */
  text(what: string): string {
    const start = this.str(what);
    return this.buf.toString('utf8', start, this.pos);
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}
