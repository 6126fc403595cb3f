/**
 * Decoder for one `zeek-bin-serializer` batch (frame 3 of a log-write message, §4.2):
 * header strings, schema, then R records of F values, rendered as Zeek JSON lines.
 * Any structural error rejects the whole batch, as Zeek does. Bad input never throws.
 */
import { BinReader } from './reader.js';
import { JsonRecordWriter, VALUE_HEADER_BYTES } from '../json/writer.js';
import { HeadCache } from './schema.js';
import type { FieldNaming } from '../json/field-names.js';
import {
  DEFAULT_LIMITS,
  DecodeFailure,
  type BatchResult,
  type DecodeLimits,
  type DecodeOptions,
  type ZeekBatch,
} from '../types.js';

export class ZeekBinV1Decoder {
  private readonly reader = new BinReader();
  private readonly writer = new JsonRecordWriter();
  private readonly heads: HeadCache;
  private ends = new Uint32Array(1024);

  /** `naming` renames keys as Zeek's scope separator / field-name map do, at no cost per record. */
  constructor(
    private readonly limits: DecodeLimits = DEFAULT_LIMITS,
    naming?: FieldNaming,
  ) {
    this.heads = new HeadCache(naming);
  }

  /** Decodes one payload. Holds no reference to `payload` afterwards. */
  decode(payload: Buffer, opts: DecodeOptions = {}): BatchResult {
    try {
      return { ok: true, batch: this.decodeOrThrow(payload, opts) };
    } catch (e) {
      if (e instanceof DecodeFailure) return { ok: false, reason: e.reason, detail: e.detail };
      throw e; // a bug, not bad input: keep it loud
    } finally {
      this.reader.release();
    }
  }

  private decodeOrThrow(payload: Buffer, opts: DecodeOptions): ZeekBatch {
    const maxRecords = opts.maxRecords ?? this.limits.maxRecords;
    const maxOutputBytes = opts.maxOutputBytes ?? this.limits.maxOutputBytes;
    const maxDepth = opts.maxDepth ?? this.limits.maxDepth;
    const r = this.reader.reset(payload);
    const { stream, writer, filter, path, schema } = this.heads.read(r);
    const nFields = schema.types.length;
    // Zeek logs no stream without columns. Without fields records cost nothing on the wire:
    // 61 bytes would declare 100,000 `{}` records.
    if (nFields === 0) throw new DecodeFailure('no-fields', `batch of ${path} has a schema without fields`);
    const nRecords = r.u32('num_records');
    if (nRecords > r.remaining / (nFields * VALUE_HEADER_BYTES)) {
      throw new DecodeFailure('bad-count', `num_records ${nRecords} x ${nFields} fields cannot fit in ${r.remaining} bytes`);
    }
    if (nRecords > maxRecords) throw new DecodeFailure('too-large', `num_records ${nRecords} > ${maxRecords}`);

    const w = this.writer;
    // JSON is usually smaller than the binary batch, so the payload size is the estimate.
    w.begin(opts, maxOutputBytes, maxDepth, r.remaining + 64);
    if (this.ends.length < nRecords) this.ends = new Uint32Array(Math.max(nRecords, this.ends.length * 2));
    const ends = this.ends;
    for (let i = 0; i < nRecords; i++) {
      w.record(r, schema);
      ends[i] = w.pos - w.start; // relative: the batch may move to a bigger slab
    }

    // Records are views into the output slab (see JsonRecordWriter).
    const out = w.out;
    const base = w.start;
    w.commit();
    const records: Buffer[] = new Array<Buffer>(nRecords);
    let start = 0;
    for (let i = 0; i < nRecords; i++) {
      const end = ends[i]!;
      records[i] = out.subarray(base + start, base + end);
      start = end;
    }
    return { stream, writer, filter, path, fields: schema.fields, records, trailingBytes: r.remaining };
  }
}
