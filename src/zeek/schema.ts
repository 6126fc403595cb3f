/**
 * Batch schemas (§4.3) and their rendering aids. Zeek resends the schema with every
 * batch, so parsed schemas are cached by their exact bytes: a hit costs one structural
 * walk and a map lookup, and the JSON key prefixes (`,"ts":`) are built once per schema.
 */
import type { BinReader } from './bin-reader.js';
import { maxEscapedLength, writeJsonEscaped } from './escape.js';
import { DecodeFailure, type ZeekField } from './types.js';

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

function parseSchema(r: BinReader, n: number): Schema {
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
    const key = Buffer.allocUnsafe(maxEscapedLength(nameEnd - nameStart) + 2);
    key[0] = 0x2c; // ,
    key[1] = 0x22; // "
    let p = writeJsonEscaped(key, 2, r.buf, nameStart, nameEnd);
    key[p++] = 0x22;
    key[p++] = 0x3a; // :
    prefixes.push(key.subarray(0, p));
  }
  return { fields: Object.freeze(fields), types, ...packKeys(prefixes) };
}

/**
 * Schema cache keyed by schema bytes. Bounded in entries and in schema size (real
 * schemas are well under 4 KB), so hostile senders cannot make it grow.
 */
export class SchemaCache {
  private readonly map = new Map<string, Schema>();

  constructor(
    private readonly maxEntries = 64,
    private readonly maxSchemaBytes = 16384,
  ) {}

  /** Reads the schema at the reader's position (from num_fields on). */
  read(r: BinReader): Schema {
    const start = r.pos;
    const n = skipSchema(r);
    const end = r.pos;
    if (end - start > this.maxSchemaBytes) {
      r.pos = start + 4;
      return parseSchema(r, n);
    }
    const key = r.buf.toString('latin1', start, end);
    let schema = this.map.get(key);
    if (schema === undefined) {
      r.pos = start + 4;
      schema = parseSchema(r, n);
      if (this.map.size >= this.maxEntries) this.map.clear();
      this.map.set(key, schema);
    }
    r.pos = end;
    return schema;
  }

  get size(): number {
    return this.map.size;
  }
}
