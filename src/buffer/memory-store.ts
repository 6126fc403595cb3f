import { Deque } from '../util/deque.js';
import type { OutboundMessage } from '../record.js';
import type { Batch, MessageStore } from './store.js';

/** The default store: records in memory, gone when the process ends. */
export class MemoryStore implements MessageStore {
  private readonly pending = new Deque<OutboundMessage>(4096);
  private pendingBytes = 0;
  private inFlightRecords = 0;
  private inFlightBytes = 0;
  private seq = 0;

  get records(): number {
    return this.pending.length + this.inFlightRecords;
  }

  get bytes(): number {
    return this.pendingBytes + this.inFlightBytes;
  }

  get waiting(): number {
    return this.pending.length;
  }

  push(message: OutboundMessage): void {
    this.pending.pushBack(message);
    this.pendingBytes += message.payload.length;
  }

  dropOldest(): boolean {
    const oldest = this.pending.popFront();
    if (oldest === undefined) return false;
    this.pendingBytes -= oldest.payload.length;
    return true;
  }

  take(maxRecords: number, maxBytes: number): Batch | undefined {
    const messages: OutboundMessage[] = [];
    let bytes = 0;
    while (messages.length < maxRecords) {
      const next = this.pending.peekFront();
      if (next === undefined) break;
      // Always take at least one record, even if it alone exceeds maxBytes.
      if (messages.length > 0 && bytes + next.payload.length > maxBytes) break;
      this.pending.popFront();
      messages.push(next);
      bytes += next.payload.length;
    }
    if (messages.length === 0) return undefined;
    this.pendingBytes -= bytes;
    this.inFlightRecords += messages.length;
    this.inFlightBytes += bytes;
    return { seq: this.seq++, messages, bytes };
  }

  settle(batch: Batch): void {
    this.inFlightRecords -= batch.messages.length;
    this.inFlightBytes -= batch.bytes;
  }

  giveBack(batches: readonly Batch[]): void {
    const ordered = [...batches].sort((a, b) => b.seq - a.seq);
    for (const b of ordered) {
      this.settle(b);
      this.pending.unshiftAll(b.messages);
      this.pendingBytes += b.bytes;
    }
  }

  async close(): Promise<void> {}
}
