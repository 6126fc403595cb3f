import zlib from 'node:zlib';
import type { OutboundMessage } from '../../record.js';

/**
 * The disk spool's bytes. A spool directory holds segment files `<16 digits>.seg`
 * (numbered in write order) and a `checkpoint`.
 *
 * Segment: a 16-byte header (`ZLGSPOOL`, u32 LE version, u32 reserved) then frames:
 *
 *   off 0  magic   F5 5A 53 F8   (F5 and F8 never occur in UTF-8, so never in JSON text)
 *   off 4  u32 LE  body length
 *   off 8  u32 LE  CRC32 of the length field and the body
 *   off 12 body:
 *     u32 LE id low, u32 LE id high   record id: contiguous, in push order, never reused
 *                                     for a readable frame
 *     f64 LE  wall-clock receipt time (ms since the epoch)
 *     u8      flags (FLAG_*)
 *     varint + bytes  payload         first, so a scan learns its size without decoding
 *     varint + utf8   path, ingress, target
 *     [varint + utf8 sender] [varint + utf8 routingKey] [varint + bytes key]
 *     [varint count, then varint + utf8 name and value per header]
 *     [varint offset + varint length of the record JSON inside the payload | varint + bytes record JSON]
 *   A skip frame (flags FLAG_SKIP) has only a varint count after the flags: the `count`
 *   ids from its id on were let go without being written (delivered or dropped while
 *   the disk refused writes). Not records, and not lost: the ids stay contiguous.
 *
 * Checkpoint: `ZSCK`, u32 LE version, u32 LE cursor low, u32 LE cursor high, u32 LE
 * CRC32 of the first 16 bytes. The cursor is the oldest record id not yet settled.
 */

export const SEGMENT_MAGIC = Buffer.from('ZLGSPOOL', 'latin1');
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_MAGIC = Buffer.from([0xf5, 0x5a, 0x53, 0xf8]);
export const FRAME_HEADER_BYTES = 12;
/** A larger length field is damage, not a record (records are far smaller). */
export const MAX_BODY_BYTES = 1 << 30;
export const CHECKPOINT_FILE = 'checkpoint';
export const CHECKPOINT_BYTES = 20;
const CHECKPOINT_MAGIC = 0x4b43535a; // 'ZSCK' read as u32 LE

const FLAG_SENDER = 1;
const FLAG_ROUTING_KEY = 2;
const FLAG_KEY = 4;
const FLAG_KEY_NULL = 8;
const FLAG_HEADERS = 16;
const FLAG_JSON_SLICE = 32;
const FLAG_JSON_OWN = 64;
const FLAG_SKIP = 128;

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentName(n: number): string {
  return `${String(n).padStart(16, '0')}.seg`;
}

/** The segment number of a file name, or undefined for anything else. */
export function segmentNumber(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  return b;
}

export function validSegmentHeader(b: Buffer): boolean {
  return (
    b.length >= SEGMENT_HEADER_BYTES &&
    b.subarray(0, 8).equals(SEGMENT_MAGIC) &&
    b.readUInt32LE(8) === FORMAT_VERSION
  );
}

// ---- CRC32 (IEEE, as zlib/gzip/PNG): zlib.crc32, in every Node the package supports (engines).

/** CRC32 of `data`, continuing from `value` (the CRC of what came before). Exported for its test. */
export const crc32 = (data: Uint8Array, value?: number): number => zlib.crc32(data, value);

/** CRC of a frame: its length field and its body, so a damaged length is caught too. */
function frameCrc(buf: Buffer, at: number, bodyLength: number): number {
  const start = at + FRAME_HEADER_BYTES;
  return crc32(buf.subarray(start, start + bodyLength), crc32(buf.subarray(at + 4, at + 8)));
}

// ---- Records

/** OutboundMessage plus the optional headers some versions of it carry (dead letters). */
type Headers = Readonly<Record<string, string>>;
type WithHeaders = OutboundMessage & { readonly headers?: Headers | undefined };

function varintBytes(n: number): number {
  let k = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

function strBytes(s: string): number {
  const n = Buffer.byteLength(s);
  return varintBytes(n) + n;
}

/** Where the record JSON sits in the payload (raw envelope: all of it; tagged: before the final `}`). */
function jsonOffset(payload: Buffer, json: Buffer): number {
  if (json === payload) return 0;
  for (const at of [payload.length - json.length - 1, 0, payload.length - json.length]) {
    if (at >= 0 && at + json.length <= payload.length && payload.subarray(at, at + json.length).equals(json)) return at;
  }
  return -1;
}

/**
 * Serializes frames into one reusable buffer: the spool writes each frame with one
 * write(2), so there is nothing to gain from a fresh allocation per record.
 */
export class FrameEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024);

  /** Encodes one frame; the returned view is valid until the next call. */
  encode(id: number, wallMs: number, m: OutboundMessage): Buffer {
    const { record, payload, address } = m;
    const headers = (m as WithHeaders).headers;
    const headerNames = headers ? Object.keys(headers) : [];
    const jsonAt = jsonOffset(payload, record.json);
    const sameJson = jsonAt === 0 && record.json.length === payload.length;

    let flags = 0;
    let size = 8 + 8 + 1 + varintBytes(payload.length) + payload.length;
    size += strBytes(record.path) + strBytes(record.ingress) + strBytes(address.target);
    if (record.sender !== undefined) {
      flags |= FLAG_SENDER;
      size += strBytes(record.sender);
    }
    if (address.routingKey !== undefined) {
      flags |= FLAG_ROUTING_KEY;
      size += strBytes(address.routingKey);
    }
    if (address.key) {
      flags |= FLAG_KEY;
      size += varintBytes(address.key.length) + address.key.length;
    } else if (address.key === null) {
      flags |= FLAG_KEY_NULL;
    }
    if (headers && headerNames.length > 0) {
      flags |= FLAG_HEADERS;
      size += varintBytes(headerNames.length);
      for (const h of headerNames) size += strBytes(h) + strBytes(headers[h] as string);
    }
    if (!sameJson && jsonAt >= 0) {
      flags |= FLAG_JSON_SLICE;
      size += varintBytes(jsonAt) + varintBytes(record.json.length);
    } else if (!sameJson) {
      flags |= FLAG_JSON_OWN;
      size += varintBytes(record.json.length) + record.json.length;
    }

    const total = FRAME_HEADER_BYTES + size;
    let o = this.begin(size, id, wallMs, flags);
    const b = this.buf;
    o = putBytes(b, o, payload);
    o = putStr(b, o, record.path);
    o = putStr(b, o, record.ingress);
    o = putStr(b, o, address.target);
    if (flags & FLAG_SENDER) o = putStr(b, o, record.sender as string);
    if (flags & FLAG_ROUTING_KEY) o = putStr(b, o, address.routingKey as string);
    if (flags & FLAG_KEY) o = putBytes(b, o, address.key as Buffer);
    if (flags & FLAG_HEADERS) {
      o = putVarint(b, o, headerNames.length);
      for (const h of headerNames) o = putStr(b, putStr(b, o, h), (headers as Headers)[h] as string);
    }
    if (flags & FLAG_JSON_SLICE) o = putVarint(b, putVarint(b, o, jsonAt), record.json.length);
    if (flags & FLAG_JSON_OWN) o = putBytes(b, o, record.json);
    if (o !== total) throw new Error(`spool frame size mismatch: ${o} != ${total}`);
    return this.seal(size);
  }

  /** A skip frame: the `count` ids from `id` on were let go unwritten. Valid until the next call. */
  encodeSkip(id: number, count: number): Buffer {
    const size = 8 + 8 + 1 + varintBytes(count);
    putVarint(this.buf, this.begin(size, id, Date.now(), FLAG_SKIP), count);
    return this.seal(size);
  }

  /** Writes the frame header and the body's fixed fields; returns where the rest of the body goes. */
  private begin(size: number, id: number, wallMs: number, flags: number): number {
    const total = FRAME_HEADER_BYTES + size;
    if (this.buf.length < total) this.buf = Buffer.allocUnsafe(Math.max(total, this.buf.length * 2));
    const b = this.buf;
    FRAME_MAGIC.copy(b, 0);
    b.writeUInt32LE(size, 4);
    const o = FRAME_HEADER_BYTES;
    b.writeUInt32LE(id % 0x1_0000_0000, o);
    b.writeUInt32LE(Math.floor(id / 0x1_0000_0000), o + 4);
    b.writeDoubleLE(wallMs, o + 8);
    b[o + 16] = flags;
    return o + 17;
  }

  /** Sets the checksum of the frame of `size` body bytes; returns the frame. */
  private seal(size: number): Buffer {
    this.buf.writeUInt32LE(frameCrc(this.buf, 0, size), 8);
    return this.buf.subarray(0, FRAME_HEADER_BYTES + size);
  }
}

function putVarint(b: Buffer, o: number, n: number): number {
  while (n >= 0x80) {
    b[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}

function putBytes(b: Buffer, o: number, bytes: Uint8Array): number {
  o = putVarint(b, o, bytes.length);
  b.set(bytes, o);
  return o + bytes.length;
}

function putStr(b: Buffer, o: number, s: string): number {
  const n = Buffer.byteLength(s);
  o = putVarint(b, o, n);
  b.write(s, o, n, 'utf8');
  return o + n;
}

/** Reads a body; throws on anything inconsistent (the CRC passed, so that means a bug or a foreign writer). */
class BodyReader {
  o = 0;
  constructor(private readonly b: Buffer) {}

  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.b[this.o++];
      if (byte === undefined) throw new Error('spool frame body ends inside a number');
      n += (byte & 0x7f) * mul;
      if (byte < 0x80) return n;
      mul *= 128;
    }
    throw new Error('spool frame body has an overlong number');
  }

  bytes(): Buffer {
    const n = this.varint();
    if (this.o + n > this.b.length) throw new Error('spool frame body ends inside a field');
    // A copy: the reader's buffer is reused, and a view would pin it.
    const out = Buffer.from(this.b.subarray(this.o, this.o + n));
    this.o += n;
    return out;
  }

  str(): string {
    const n = this.varint();
    if (this.o + n > this.b.length) throw new Error('spool frame body ends inside a field');
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
}

export function bodyId(body: Buffer): number {
  return body.readUInt32LE(0) + body.readUInt32LE(4) * 0x1_0000_0000;
}

/** How many ids a skip frame's body stands for; 0 for a record. */
export function bodySkipped(body: Buffer): number {
  if (((body[16] as number) & FLAG_SKIP) === 0) return 0;
  const r = new BodyReader(body);
  r.o = 17;
  return r.varint();
}

/** Payload size of a body without decoding the rest (recovery counts bytes this way). */
export function bodyPayloadBytes(body: Buffer): number {
  const r = new BodyReader(body);
  r.o = 17;
  return r.varint();
}

export interface DecodedFrame {
  id: number;
  /** Wall-clock receipt time, ms since the epoch. */
  wallMs: number;
  message: OutboundMessage;
}

/** Decodes a body into a fresh message; `receivedAt` is the caller's to choose. */
export function decodeBody(body: Buffer, receivedAt: (wallMs: number) => number): DecodedFrame {
  const r = new BodyReader(body);
  const id = bodyId(body);
  const wallMs = body.readDoubleLE(8);
  const flags = body[16] as number;
  r.o = 17;
  const payload = r.bytes();
  const path = r.str();
  const ingress = r.str();
  const target = r.str();
  const sender = flags & FLAG_SENDER ? r.str() : undefined;
  const routingKey = flags & FLAG_ROUTING_KEY ? r.str() : undefined;
  const key = flags & FLAG_KEY ? r.bytes() : flags & FLAG_KEY_NULL ? null : undefined;
  let headers: Record<string, string> | undefined;
  if (flags & FLAG_HEADERS) {
    headers = {};
    for (let n = r.varint(); n > 0; n--) {
      const name = r.str();
      headers[name] = r.str();
    }
  }
  let json = payload;
  if (flags & FLAG_JSON_SLICE) {
    const at = r.varint();
    const len = r.varint();
    if (at + len > payload.length) throw new Error('spool frame body has a JSON slice outside the payload');
    json = payload.subarray(at, at + len);
  } else if (flags & FLAG_JSON_OWN) {
    json = r.bytes();
  }
  if (r.o !== body.length) throw new Error('spool frame body has trailing bytes');

  const address: { target: string; routingKey?: string; key?: Buffer | null } = { target };
  if (routingKey !== undefined) address.routingKey = routingKey;
  if (key !== undefined) address.key = key;
  const message: WithHeaders = {
    record: { path, json, sender, ingress, receivedAt: receivedAt(wallMs) },
    payload,
    address,
    ...(headers ? { headers } : {}),
  };
  return { id, wallMs, message };
}

/** The frame at `at` in `buf` if it is whole and its CRC matches; its body length, else -1. */
export function checkFrame(buf: Buffer, at: number, available: number): number {
  if (available < FRAME_HEADER_BYTES) return -1;
  if (buf[at] !== 0xf5 || buf[at + 1] !== 0x5a || buf[at + 2] !== 0x53 || buf[at + 3] !== 0xf8) return -1;
  const len = buf.readUInt32LE(at + 4);
  if (len < 17 || len > MAX_BODY_BYTES || FRAME_HEADER_BYTES + len > available) return -1;
  return frameCrc(buf, at, len) === buf.readUInt32LE(at + 8) ? len : -1;
}

// ---- Checkpoint

export function encodeCheckpoint(cursor: number): Buffer {
  const b = Buffer.alloc(CHECKPOINT_BYTES);
  b.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  b.writeUInt32LE(FORMAT_VERSION, 4);
  b.writeUInt32LE(cursor % 0x1_0000_0000, 8);
  b.writeUInt32LE(Math.floor(cursor / 0x1_0000_0000), 12);
  b.writeUInt32LE(crc32(b.subarray(0, 16)), 16);
  return b;
}

/** The cursor, or undefined if the bytes are not a valid checkpoint. */
export function decodeCheckpoint(b: Buffer): number | undefined {
  if (b.length !== CHECKPOINT_BYTES) return undefined;
  if (b.readUInt32LE(0) !== CHECKPOINT_MAGIC || b.readUInt32LE(4) !== FORMAT_VERSION) return undefined;
  if (crc32(b.subarray(0, 16)) !== b.readUInt32LE(16)) return undefined;
  return b.readUInt32LE(8) + b.readUInt32LE(12) * 0x1_0000_0000;
}
