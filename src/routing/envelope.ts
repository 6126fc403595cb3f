/**
 * The envelope a route puts around each record. `tagged` is TRAPMINE's convention,
 * `{"conn": {...}}`; `raw` is the record as Zeek wrote it. Built by concatenating
 * bytes: the record's JSON is never parsed or re-serialized.
 */
export type Envelope = 'tagged' | 'raw';
export const ENVELOPES: readonly Envelope[] = ['tagged', 'raw'];

const CLOSE = 0x7d; // '}'

/** Precomputes what an envelope adds for one path; build() then costs one copy. */
export class EnvelopeBuilder {
  private readonly prefix: Buffer | undefined;

  constructor(readonly envelope: Envelope, tag: string) {
    // JSON.stringify escapes the path exactly as a JSON string must be.
    this.prefix = envelope === 'tagged' ? Buffer.from(`{${JSON.stringify(tag)}:`) : undefined;
  }

  build(json: Buffer): Buffer {
    const prefix = this.prefix;
    if (prefix === undefined) return json;
    const out = Buffer.allocUnsafe(prefix.length + json.length + 1);
    prefix.copy(out, 0);
    json.copy(out, prefix.length);
    out[out.length - 1] = CLOSE;
    return out;
  }
}
