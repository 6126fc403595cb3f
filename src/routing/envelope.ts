/**
 * The envelope a route puts around each record. `tagged` is TRAPMINE's convention,
 * `{"conn": {...}}`; `raw` is the record as Zeek wrote it. Built by concatenating
 * bytes: the record's JSON is never parsed or re-serialized.
 */
export type Envelope = 'tagged' | 'raw';
export const ENVELOPES: readonly Envelope[] = ['tagged', 'raw'];

const CLOSE = 0x7d; // '}'

/** Where an envelope is built: the memory of the sink that will hold it (see HeldMemory). */
export interface EnvelopeMemory {
  alloc(n: number): Buffer;
  copy(bytes: Buffer): Buffer;
  owns(bytes: Buffer): boolean;
}

/** Precomputes what an envelope adds for one path; build() then costs one copy. */
export class EnvelopeBuilder {
  private readonly prefix: Buffer | undefined;
  /** Where the record's JSON starts in a built payload. */
  readonly jsonStart: number;

  constructor(readonly envelope: Envelope, tag: string) {
    // JSON.stringify escapes the path exactly as a JSON string must be.
    this.prefix = envelope === 'tagged' ? Buffer.from(`{${JSON.stringify(tag)}:`) : undefined;
    this.jsonStart = this.prefix?.length ?? 0;
  }

  /**
   * The payload for `json`, in `memory` when given: a record that is held must not keep
   * the memory it came in alive (a decoder slab). A raw record that owns its memory
   * already is used as it is.
   */
  build(json: Buffer, memory?: EnvelopeMemory): Buffer {
    const prefix = this.prefix;
    if (prefix === undefined) return memory === undefined || memory.owns(json) ? json : memory.copy(json);
    const n = prefix.length + json.length + 1;
    const out = memory === undefined ? Buffer.allocUnsafe(n) : memory.alloc(n);
    prefix.copy(out, 0);
    json.copy(out, prefix.length);
    out[n - 1] = CLOSE;
    return out;
  }
}
