import { HeldRecord, type LogRecord, type OutboundMessage } from '../record.js';

/**
 * The memory a sink's held records live in. Records arrive as views into memory shared with
 * records this sink never holds: the cluster decoder renders whole batches into 256 KiB slabs,
 * and Node's Buffer pool hands out 8 KiB blocks. One held view keeps its whole block alive, so
 * a slow sink holding one rare path's records could pin gigabytes while its metrics showed
 * megabytes. Here every held byte is copied into blocks of the sink's own; since a sink lets
 * go of its records in about the order it took them, its blocks are freed behind it, and its
 * memory stays its held bytes plus one partly used block (measured in held-memory.test.ts).
 */
export class HeldMemory {
  private block: Buffer = EMPTY;
  private used = 0;

  /** Blocks of 64 KiB: one allocation per ~150 typical records, and little left unused per sink. */
  constructor(private readonly blockSize = 64 * 1024) {}

  /** n bytes of the sink's own memory to write into. */
  alloc(n: number): Buffer {
    // A large record gets an allocation of its own: it pins nothing but itself.
    if (n > this.blockSize >> 2) return Buffer.allocUnsafeSlow(n);
    if (this.used + n > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(this.blockSize);
      this.used = 0;
    }
    const out = this.block.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }

  copy(bytes: Buffer): Buffer {
    const out = this.alloc(bytes.length);
    bytes.copy(out);
    return out;
  }

  /** True when `bytes` pins nothing besides memory the sink holds anyway. */
  owns(bytes: Buffer): boolean {
    return bytes.buffer === this.block.buffer || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength);
  }

  /**
   * The message with every buffer it holds in this memory: the payload, the Kafka key and the
   * record's JSON (a range of the payload when it is one, as the envelopes make it).
   */
  hold(m: OutboundMessage): OutboundMessage {
    const payloadOwned = this.owns(m.payload);
    const key = m.address.key;
    const keyOwned = !key || this.owns(key);
    if (payloadOwned && keyOwned && m.record instanceof HeldRecord && m.record.payload === m.payload) return m;
    const payload = payloadOwned ? m.payload : this.copy(m.payload);
    const address = keyOwned ? m.address : { ...m.address, key: this.copy(key as Buffer) };
    return { record: this.holdRecord(m.record, m.payload, payload), payload, address, headers: m.headers };
  }

  /** The record with its JSON inside the held payload, or copied when it is not part of it. */
  private holdRecord(record: LogRecord, was: Buffer, payload: Buffer): LogRecord {
    const json = record.json;
    const at = rangeIn(was, json);
    if (at >= 0) return new HeldRecord(record, payload, at, at + json.length);
    const own = this.copy(json);
    return new HeldRecord(record, own, 0, own.length);
  }
}

const EMPTY = Buffer.alloc(0);

/** Where `part` starts inside `whole` when it is a view of the same memory, else -1. */
function rangeIn(whole: Buffer, part: Buffer): number {
  if (part.buffer !== whole.buffer) return -1;
  const at = part.byteOffset - whole.byteOffset;
  return at >= 0 && at + part.length <= whole.length ? at : -1;
}
