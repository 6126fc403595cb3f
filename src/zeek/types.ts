/**
 * Shared types of the `zeek-bin-serializer` (ZEEK_BIN_V1) decoder.
 * Wire format: /work/shared/docs/zeek-zeromq-wire-format.md §3-§4.
 */

/** Zeek `TypeTag` values (zeek v8.2.2 src/Type.h) that can appear on the wire. */
export const TypeTag = {
  VOID: 0,
  BOOL: 1,
  INT: 2,
  COUNT: 3,
  DOUBLE: 4,
  TIME: 5,
  INTERVAL: 6,
  STRING: 7,
  PATTERN: 8,
  ENUM: 9,
  PORT: 10,
  ADDR: 11,
  SUBNET: 12,
  ANY: 13,
  TABLE: 14,
  RECORD: 15,
  LIST: 16,
  FUNC: 17,
  FILE: 18,
  VECTOR: 19,
  OPAQUE: 20,
  TYPE: 21,
  ERROR: 22,
} as const;

/** One schema entry (`threading::Field`). */
export interface ZeekField {
  /** Flattened column name, e.g. `id.orig_h`. */
  readonly name: string;
  /** Type tag of the column (see {@link TypeTag}). */
  readonly type: number;
  /** Element type for sets and vectors, otherwise 0. */
  readonly subtype: number;
  /** The column's `&optional` attribute (informational: any column can be unset). */
  readonly optional: boolean;
  /** Only set by the input framework; the logging framework never sends one. */
  readonly secondaryName?: string;
}

/** One decoded log batch: header, schema and the records rendered as Zeek JSON. */
export interface ZeekBatch {
  /** Stream enum name, e.g. `Conn::LOG`. */
  readonly stream: string;
  /** Writer enum name, e.g. `Log::WRITER_ASCII`. */
  readonly writer: string;
  readonly filter: string;
  /** Log path, e.g. `conn`; a Zeek logger writes `<path>.log`. */
  readonly path: string;
  /** The schema; the same frozen array for every batch with identical schema bytes. */
  readonly fields: readonly ZeekField[];
  /**
   * One JSON object per record, without trailing newline. Records are views into a
   * shared output slab (256 KB, or the batch's own for big batches), like Node's Buffer
   * pool: holding a record keeps its slab alive. Copy a record to keep it for long.
   */
  readonly records: Buffer[];
  /** Bytes after the last record. Zeek ignores them; a count > 0 deserves a warning. */
  readonly trailingBytes: number;
}

/** Why a message or batch was rejected. Every rejection drops the whole message. */
export type RejectReason =
  /** The ZeroMQ message does not have exactly 4 frames. */
  | 'frame-count'
  /** Frame 0 is not `log-write`. */
  | 'message-type'
  /** Frame 2 names a serializer other than `zeek-bin-serializer`. */
  | 'unknown-format'
  /** Fewer bytes remain than a primitive needs (Zeek: "data underflow"). */
  | 'truncated'
  /** A string length is negative or larger than the remaining bytes. */
  | 'bad-length'
  /** A field, record, set or vector count is negative or cannot fit in the remaining bytes. */
  | 'bad-count'
  /** The schema has no fields (no Zeek log stream has none; its records would be free on the wire). */
  | 'no-fields'
  /** A present value carries a tag that cannot be logged (void, pattern, any, record, ...). */
  | 'bad-type'
  /** A top-level value's tag differs from its field's tag (a Zeek logger disables the writer). */
  | 'type-mismatch'
  /** An addr or subnet family is neither 4 nor 6. */
  | 'bad-family'
  /** A port protocol is outside 0..3. */
  | 'bad-proto'
  /** Containers nested deeper than the configured limit. */
  | 'too-deep'
  /** More records or more output bytes than the configured limits allow. */
  | 'too-large';

export const REJECT_REASONS: readonly RejectReason[] = [
  'frame-count',
  'message-type',
  'unknown-format',
  'truncated',
  'bad-length',
  'bad-count',
  'no-fields',
  'bad-type',
  'type-mismatch',
  'bad-family',
  'bad-proto',
  'too-deep',
  'too-large',
];

/** How `time` values are written (`LogAscii::json_timestamps`). */
export const TIMESTAMP_MODES = ['epoch', 'millis', 'millis-unsigned', 'iso8601'] as const;
export type TimestampMode = (typeof TIMESTAMP_MODES)[number];

/** Rendering options; on a real Zeek logger these come from the logger's own config. */
export interface RenderOptions {
  /** Default 'epoch' (`JSON::TS_EPOCH`). */
  readonly timestamps?: TimestampMode;
  /** Write unset fields as `null` (`LogAscii::json_include_unset_fields`). Default false. */
  readonly includeUnsetFields?: boolean;
}

/** Resource limits against hostile input. */
export interface DecodeLimits {
  /** Maximum records in one batch. Zeek sends at most `Log::write_buffer_size` (1000). */
  readonly maxRecords: number;
  /** Maximum rendered JSON bytes of one batch. */
  readonly maxOutputBytes: number;
  /** Maximum container nesting (Zeek only logs sets/vectors of atomic values: depth 1). */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxRecords: 100_000,
  maxOutputBytes: 64 * 1024 * 1024,
  maxDepth: 4,
};

export type DecodeOptions = RenderOptions & Partial<DecodeLimits>;

export interface Rejection {
  readonly ok: false;
  readonly reason: RejectReason;
  readonly detail: string;
}

export type BatchResult = { readonly ok: true; readonly batch: ZeekBatch } | Rejection;

export type LogWriteResult =
  | { readonly ok: true; readonly sender: string; readonly batch: ZeekBatch }
  | Rejection;

/**
 * Thrown inside the decoder and caught at its public entry points, which turn it into a
 * {@link Rejection}. Not an Error subclass: no stack trace is captured on bad input.
 */
export class DecodeFailure {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {}
}
