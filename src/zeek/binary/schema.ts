/**
 * Batch heads (header strings and schema, §4.2-§4.3) and their rendering aids. Zeek
 * resends both with every batch, so they are parsed once and cached by their bytes.
 */
import type { BinReader } from './reader.js';
import { maxEscapedLength, writeJsonEscaped } from '../json/escape.js';
import { DecodeFailure, type ZeekField } from '../types.js';
import { renameField, renames, type FieldNaming } from '../json/field-names.js';

/** Smallest schema entry: have_2nd, empty name, type, subtype, optional. */
const MIN_FIELD_BYTES = 14;

export interface Schema {
  readonly fields: readonly ZeekField[];
  /** Type tag per field, for the per-value check. */
  readonly types: Int32Array;
  /**
   * JSON key prefixes as big-endian 32-bit words, written 4 bytes at a time (a byte
   * loop costs about three times as much). Variant v = 2*i is `,"name":` and
   * v = 2*i + 1 is `"name":` (first member); its words start at keyWordAt[v], its
   * length in bytes is keyLen[v], and the zero padding of the last word is overwritten
   * by whatever follows.
   */
  readonly keyWords: Int32Array;
  readonly keyWordAt: Int32Array;
  readonly keyLen: Int32Array;
  /** Bytes all key prefixes may take, word padding included. */
  readonly keyRoom: number;
}

/** Packs key prefix bytes into the words/offsets of a {@link Schema}. */
function packKeys(prefixes: readonly Buffer[]): Pick<Schema, 'keyWords' | 'keyWordAt' | 'keyLen' | 'keyRoom'> {
  const keyWordAt = new Int32Array(2 * prefixes.length);
  const keyLen = new Int32Array(2 * prefixes.length);
  let words = 0;
  let keyRoom = 0;
  for (const p of prefixes) {
    words += ((p.length + 3) >> 2) + ((p.length + 2) >> 2);
    keyRoom += p.length + 3;
  }
  const keyWords = new Int32Array(words);
  let w = 0;
  prefixes.forEach((p, i) => {
    for (let variant = 0; variant < 2; variant++) {
      const bytes = variant === 0 ? p : p.subarray(1); // without the comma
      const padded = Buffer.alloc((bytes.length + 3) & ~3);
      bytes.copy(padded);
      keyWordAt[2 * i + variant] = w;
      keyLen[2 * i + variant] = bytes.length;
      for (let o = 0; o < padded.length; o += 4) keyWords[w++] = padded.readInt32BE(o);
    }
  });
  return { keyWords, keyWordAt, keyLen, keyRoom };
}

/** Walks the schema at the reader's position without allocating; returns its field count. */
function skipSchema(r: BinReader): number {
  const n = r.u32('num_fields');
  if (n > r.remaining / MIN_FIELD_BYTES) {
    throw new DecodeFailure('bad-count', `num_fields ${n} cannot fit in ${r.remaining} bytes`);
  }
  for (let i = 0; i < n; i++) {
    if (r.bool('field have_2nd')) r.str('field secondary_name');
    r.str('field name');
    r.skip(9, 'field type/subtype/optional');
  }
  return n;
}

function parseSchema(r: BinReader, n: number, naming: FieldNaming | undefined): Schema {
  const fields: ZeekField[] = [];
  const types = new Int32Array(n);
  const prefixes: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const secondaryName = r.bool('field have_2nd') ? r.text('field secondary_name') : undefined;
    const nameStart = r.str('field name');
    const nameEnd = r.pos;
    const type = r.i32('field type');
    const subtype = r.i32('field subtype');
    const optional = r.bool('field optional');
    const name = r.buf.toString('utf8', nameStart, nameEnd);
    fields.push(Object.freeze(secondaryName === undefined ? { name, type, subtype, optional } : { name, type, subtype, optional, secondaryName }));
    types[i] = type;
    // Field names skip Zeek's escape_utf8 and get rapidjson's escaping only (§6.3).
    // A renamed field's key is written from its new name, once per schema.
    const renamed = naming === undefined ? undefined : renameField(name, naming);
    const src = renamed === undefined ? r.buf : Buffer.from(renamed);
    const [from, to] = renamed === undefined ? [nameStart, nameEnd] : [0, src.length];
    const key = Buffer.allocUnsafe(maxEscapedLength(to - from) + 2);
    key[0] = 0x2c; // ,
    key[1] = 0x22; // "
    let p = writeJsonEscaped(key, 2, src, from, to);
    key[p++] = 0x22;
    key[p++] = 0x3a; // :
    prefixes.push(key.subarray(0, p));
  }
  return { fields: Object.freeze(fields), types, ...packKeys(prefixes) };
}

/** Header strings and schema of a batch: everything before num_records. */
export interface BatchHead {
  readonly stream: string;
  readonly writer: string;
  readonly filter: string;
  readonly path: string;
  readonly schema: Schema;
}

function parseHead(r: BinReader, naming: FieldNaming | undefined): BatchHead {
  const stream = r.text('stream_id');
  const writer = r.text('writer_id');
  const filter = r.text('filter_name');
  const path = r.text('path');
  const n = r.u32('num_fields');
  return { stream, writer, filter, path, schema: parseSchema(r, n, naming) };
}

/** A hash of up to 32 words spread over [start, end); collisions only cost a compare. */
function sampleHash(v: DataView, start: number, end: number): number {
  const words = (end - start) >> 2;
  const step = Math.max(1, words >> 5);
  let h = (end - start) ^ 0x811c9dc5;
  for (let w = 0; w < words; w += step) h = Math.imul(h ^ v.getInt32(start + 4 * w), 16777619);
  return h;
}

interface Entry {
  readonly bytes: Buffer;
  readonly head: BatchHead;
}

/**
 * Cache of batch heads (header strings + schema) keyed by their exact bytes. A hit
 * costs one structural walk, a sampled hash and a memcmp: no strings are created, and
 * the key prefixes are built once per schema. Bounded in entries and in head size
 * (real heads are well under 4 KB), so hostile senders cannot make it grow.
 */
export class HeadCache {
  private readonly map = new Map<number, Entry[]>();
  private entries = 0;

  private readonly naming: FieldNaming | undefined;

  /** `naming` renames the JSON keys of every schema (fields keep their Zeek names). */
  constructor(
    naming?: FieldNaming,
    private readonly maxEntries = 64,
    private readonly maxHeadBytes = 16384,
  ) {
    this.naming = naming !== undefined && renames(naming) ? naming : undefined;
  }

  /** Reads the head at the reader's position (the start of the payload). */
  read(r: BinReader): BatchHead {
    const start = r.pos;
    for (let i = 0; i < 4; i++) r.str('header string');
    skipSchema(r);
    const end = r.pos;
    const len = end - start;
    if (len > this.maxHeadBytes) {
      r.pos = start;
      return parseHead(r, this.naming);
    }
    const h = sampleHash(r.view, start, end);
    const bucket = this.map.get(h);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.bytes.length === len && r.buf.compare(e.bytes, 0, len, start, end) === 0) return e.head;
      }
    }
    r.pos = start;
    const head = parseHead(r, this.naming);
    if (this.entries >= this.maxEntries) {
      this.map.clear();
      this.entries = 0;
    }
    const entry = { bytes: Buffer.from(r.buf.subarray(start, end)), head };
    if (bucket !== undefined && this.map.has(h)) bucket.push(entry);
    else this.map.set(h, [entry]);
    this.entries++;
    return head;
  }

  get size(): number {
    return this.entries;
  }
}
