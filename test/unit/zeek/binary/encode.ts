// A minimal ZEEK_BIN_V1 encoder for tests (spec §4): builds payloads byte by byte so
// tests can state exactly what is on the wire, including malformed variants.

export class Wire {
  private readonly parts: Buffer[] = [];

  bytes(b: Uint8Array | readonly number[]): this {
    this.parts.push(Buffer.from(b as Uint8Array));
    return this;
  }

  u8(v: number): this {
    return this.bytes([v & 0xff]);
  }

  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v | 0);
    return this.bytes(b);
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.bytes(b);
  }

  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return this.bytes(b);
  }

  f64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.bytes(b);
  }

  str(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
    return this.i32(b.length).bytes(b);
  }

  /** Batch header: stream, writer, filter, path. */
  header(path = 'test', stream = 'Test::LOG', writer = 'Log::WRITER_ASCII', filter = 'default'): this {
    return this.str(stream).str(writer).str(filter).str(path);
  }

  /** One schema entry without secondary name. */
  field(name: string | Uint8Array, type: number, subtype = 0, optional = false): this {
    return this.u8(0).str(name).i32(type).i32(subtype).u8(optional ? 1 : 0);
  }

  /** Value header: type, subtype 0, present. */
  vh(type: number, present = true): this {
    return this.i32(type).i32(0).u8(present ? 1 : 0);
  }

  unset(type: number): this {
    return this.vh(type, false);
  }

  bool(v: boolean): this {
    return this.vh(1).i64(v ? 1n : 0n);
  }

  int(v: bigint): this {
    return this.vh(2).i64(v);
  }

  count(v: bigint): this {
    return this.vh(3).i64(v);
  }

  double(v: number, type = 4): this {
    return this.vh(type).f64(v);
  }

  time(v: number): this {
    return this.double(v, 5);
  }

  string(s: string | Uint8Array, type = 7): this {
    return this.vh(type).str(s);
  }

  port(n: number, proto: number): this {
    return this.vh(10).i64(BigInt(n)).i32(proto);
  }

  addr(bytes: readonly number[]): this {
    return this.vh(11).u8(bytes.length === 4 ? 4 : 6).bytes(bytes);
  }

  subnet(wireLength: number, bytes: readonly number[]): this {
    return this.vh(12).u8(wireLength).u8(bytes.length === 4 ? 4 : 6).bytes(bytes);
  }

  /** Container header (set 14 or vector 19) with n elements following. */
  container(type: 14 | 19, n: bigint): this {
    return this.vh(type).i64(n);
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The 4 frames of a log-write message around a payload. */
export function logWriteFrames(payload: Buffer, sender = 'zeromq_worker-1_test_1_X'): Buffer[] {
  return [Buffer.from('log-write'), Buffer.from(sender), Buffer.from('zeek-bin-serializer'), payload];
}

/** Parses the spec's hex dump format (`0000  00 01 ...  text`). */
export function fromHexDump(dump: string): Buffer {
  const bytes: number[] = [];
  for (const line of dump.trim().split('\n')) {
    const m = /^[0-9a-f]{4}\s+((?:[0-9a-f]{2} ?)+)/i.exec(line.trim());
    if (!m) throw new Error(`bad hex dump line: ${line}`);
    for (const h of m[1]!.trim().split(/\s+/).slice(0, 16)) bytes.push(parseInt(h, 16));
  }
  return Buffer.from(bytes);
}
