/**
 * The envelope a route puts around each record. `tagged` is TRAPMINE's convention,
 * `{"conn": {...}}`; `raw` is the record as Zeek wrote it; `inline` is Corelight's
 * streaming shape, `{"_path":"conn",["_system_name":..,]["_write_ts":..,]...}`.
 * Built by concatenating bytes: the record's JSON is never parsed or re-serialized.
 */
import { formatDouble } from '../zeek/json/dtoa.js';
import { MAX_TIME_CHARS, writeIso8601, writeMillis } from '../zeek/json/time-format.js';
import type { TimestampMode } from '../zeek/types.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { senderLabel } from '../ops/metrics.js';

export type Envelope = 'tagged' | 'raw' | 'inline';
export const ENVELOPES: readonly Envelope[] = ['tagged', 'raw', 'inline'];

/** `_system_name` from the record's sender (cluster node id); see {@link InlineOptions}. */
export const SENDER = '{sender}';

export interface InlineOptions {
  /**
   * `_system_name`: '' leaves it out, {@link SENDER} is the sender node as `worker-1@host` (left out
   * when unknown), anything else is literal.
   */
  readonly systemName?: string | undefined;
  /** Add `_write_ts`, the time the gateway received the record. */
  readonly writeTs?: boolean | undefined;
  /** Format of `_write_ts` (Zeek's json_timestamps modes). */
  readonly timestamps?: TimestampMode | undefined;
}

/** What the inline envelope reads of a record besides its bytes. */
export interface RecordMeta {
  readonly sender?: string | undefined;
  /** Wall-clock receive time in ms since the epoch (only read for `_write_ts`). */
  readonly receivedAtMs?: number | undefined;
}

/** Where an envelope is built: the memory of the sink that will hold it (see HeldMemory). */
export interface EnvelopeMemory {
  alloc(n: number): Buffer;
  copy(bytes: Buffer): Buffer;
  owns(bytes: Buffer): boolean;
}

const OPEN = 0x7b; // '{'
const CLOSE = 0x7d; // '}'
const MAX_CACHED_SENDERS = 1024;

const HEAP: EnvelopeMemory = {
  alloc: (n) => Buffer.allocUnsafe(n),
  copy: (bytes) => Buffer.from(bytes),
  owns: () => true,
};

/** Precomputes what an envelope adds for one path; build() then costs one copy. */
export class EnvelopeBuilder {
  private readonly prefix: Buffer | undefined;
  /** Where the record's JSON starts in a built payload (inline: the payload is the record). */
  readonly jsonStart: number;
  /** Bytes after the record's JSON in a built payload (tagged: its closing brace). */
  readonly jsonTail: number;
  private readonly senderPrefixes = new BoundedCache<Buffer>(MAX_CACHED_SENDERS);
  private readonly timeScratch = Buffer.alloc(MAX_TIME_CHARS + 16);

  constructor(
    readonly envelope: Envelope,
    tag: string,
    private readonly inline: InlineOptions = {},
  ) {
    // JSON.stringify escapes the path exactly as a JSON string must be.
    if (envelope === 'tagged') this.prefix = Buffer.from(`{${JSON.stringify(tag)}:`);
    else if (envelope === 'inline') {
      const name = inline.systemName ?? '';
      const system = name === '' || name === SENDER ? '' : `,"_system_name":${JSON.stringify(name)}`;
      this.prefix = Buffer.from(`{"_path":${JSON.stringify(tag)}${system}`);
    }
    this.jsonStart = envelope === 'tagged' ? this.prefix!.length : 0;
    this.jsonTail = envelope === 'tagged' ? 1 : 0;
  }

  /**
   * The payload for `json`, in `memory` when given: a record that is held must not keep
   * the memory it came in alive (a decoder slab). A raw record that owns its memory
   * already is used as it is.
   */
  build(json: Buffer, memory: EnvelopeMemory = HEAP, meta?: RecordMeta): Buffer {
    const prefix = this.prefix;
    if (prefix === undefined) return memory.owns(json) ? json : memory.copy(json);
    if (this.envelope === 'inline') return this.splice(json, memory, meta);
    const n = prefix.length + json.length + 1;
    const out = memory.alloc(n);
    prefix.copy(out, 0);
    json.copy(out, prefix.length);
    out[n - 1] = CLOSE;
    return out;
  }

  /** Inline: our members go right after the record's opening brace. */
  private splice(json: Buffer, memory: EnvelopeMemory, meta: RecordMeta | undefined): Buffer {
    let open = 0;
    while (open < json.length && json[open] !== OPEN) open++;
    // Not an object (ingress validation keeps these out): delivered as it came, not lost.
    if (open === json.length) return memory.owns(json) ? json : memory.copy(json);
    const prefix = this.inline.systemName === SENDER && meta?.sender !== undefined ? this.senderPrefix(meta.sender) : this.prefix!;
    const ts = this.inline.writeTs ? this.writeTs(meta?.receivedAtMs ?? Date.now()) : undefined;
    let rest = open + 1;
    while (rest < json.length && (json[rest] === 0x20 || json[rest] === 0x0a || json[rest] === 0x0d || json[rest] === 0x09)) rest++;
    const empty = json[rest] === CLOSE;
    const tsLen = ts === undefined ? 0 : ts.length;
    const out = memory.alloc(prefix.length + tsLen + (empty ? 0 : 1) + json.length - rest);
    let p = prefix.copy(out, 0);
    if (ts !== undefined) p += ts.copy(out, p);
    if (!empty) out[p++] = 0x2c; // ,
    json.copy(out, p, rest);
    return out;
  }

  private senderPrefix(sender: string): Buffer {
    return (
      this.senderPrefixes.get(sender) ??
      // The node's stable name: Zeek's id adds a pid and a random part that change on every restart.
      this.senderPrefixes.keep(sender, Buffer.concat([this.prefix!, Buffer.from(`,"_system_name":${JSON.stringify(senderLabel(sender))}`)]))
    );
  }

  /** Records of one batch share their receive time: the last text is reused. */
  private lastTsMs = NaN;
  private lastTs: Buffer = Buffer.alloc(0);

  private writeTs(ms: number): Buffer {
    if (ms === this.lastTsMs) return this.lastTs;
    this.lastTsMs = ms;
    return (this.lastTs = this.formatTs(ms));
  }

  private formatTs(ms: number): Buffer {
    const mode = this.inline.timestamps ?? 'epoch';
    const s = ms / 1000;
    if (mode === 'epoch') return Buffer.from(`,"_write_ts":${formatDouble(s)}`);
    const out = this.timeScratch;
    let p = out.write(',"_write_ts":', 0, 'latin1');
    p = mode === 'iso8601' ? writeIso8601(out, p, s) : writeMillis(out, p, s, mode === 'millis-unsigned');
    return Buffer.from(out.subarray(0, p));
  }
}
