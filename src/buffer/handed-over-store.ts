import type { OutboundMessage } from '../record.js';
import type { Batch, MessageStore } from './store.js';

/**
 * A sink instance's store after a reload handed it its predecessor's records: those records
 * (the predecessor's own store: memory, or a spool in a directory this instance does not use)
 * go out first, in their order, then the records this instance took itself. Once the
 * predecessor's store holds nothing more it is closed and `onEmptied` runs (a spool's
 * directory is removed there); from then on this is the instance's own store alone.
 *
 * Records handed over count towards the buffer: more than the new high-water mark makes the
 * sink full until it delivered enough, and its when-full policy applies meanwhile.
 */
export class HandedOverStore implements MessageStore {
  /** Chain seq → the store the batch came from and the batch it gave. */
  private readonly inFlight = new Map<number, { store: MessageStore; batch: Batch }>();
  private seq = 0;
  private emptied = false;
  onWritable: (() => void) | undefined;

  constructor(
    private backlog: MessageStore | undefined,
    private readonly own: MessageStore,
    private readonly onEmptied: (backlog: MessageStore) => Promise<void>,
  ) {
    own.onWritable = () => this.onWritable?.();
    this.checkEmptied();
  }

  get records(): number {
    return (this.backlog?.records ?? 0) + this.own.records;
  }

  get bytes(): number {
    return (this.backlog?.bytes ?? 0) + this.own.bytes;
  }

  get waiting(): number {
    return (this.backlog?.waiting ?? 0) + this.own.waiting;
  }

  /** The instance's own limit, when its store has one (a spool); else the sink's marks count every held record. */
  get full(): boolean | undefined {
    return this.own.full;
  }

  get persistent(): boolean | undefined {
    return this.own.persistent;
  }

  /** Records that survive close: a spool's, whether the instance's own or the predecessor's. */
  get kept(): number {
    return keptOnClose(this.own) + (this.backlog ? keptOnClose(this.backlog) : 0);
  }

  /** The predecessors' spool directories still being delivered, in delivery order (oldest first). */
  get backlogDirs(): string[] {
    // An instance's own store that has a backlog of its own (a marker found at its start) delivers that after ours.
    const later = this.own instanceof HandedOverStore ? this.own.backlogDirs : [];
    return [...(this.backlog ? spoolDirsOf(this.backlog) : []), ...later];
  }

  /** Where records are kept: the predecessors' spool directories while they hold records, and this instance's. */
  get location(): string | undefined {
    const at = spoolDirsOf(this);
    return at.length > 0 ? at.join(', ') : undefined;
  }

  /** The two stores, as they are now (the predecessor's is gone once delivered). */
  get parts(): { backlog: MessageStore | undefined; own: MessageStore } {
    return { backlog: this.backlog, own: this.own };
  }

  /**
   * The two stores apart, for the next hand-over once nothing is in flight: a successor that
   * reopens `own` (its spool directory) takes the predecessor's records still waiting on as they are.
   */
  split(): { backlog: MessageStore | undefined; own: MessageStore } {
    if (this.inFlight.size > 0) throw new Error('cannot split a store with batches in flight');
    const backlog = this.backlog;
    this.backlog = undefined;
    this.emptied = true;
    return { backlog, own: this.own };
  }

  push(message: OutboundMessage): void {
    this.own.push(message);
  }

  dropOldest(): boolean {
    if (this.backlog && this.backlog.waiting > 0 && this.backlog.dropOldest()) {
      this.checkEmptied();
      return true;
    }
    return this.own.dropOldest();
  }

  take(maxRecords: number, maxBytes: number): Batch | undefined {
    // The predecessor's records first: nothing of this instance's goes before them.
    const store = this.backlog && this.backlog.waiting > 0 ? this.backlog : this.own;
    const batch = store.take(maxRecords, maxBytes);
    if (batch === undefined) return undefined;
    const seq = this.seq++;
    this.inFlight.set(seq, { store, batch });
    return { seq, messages: batch.messages, bytes: batch.bytes };
  }

  settle(batch: Batch): void {
    const f = this.inFlight.get(batch.seq);
    if (f === undefined) return;
    this.inFlight.delete(batch.seq);
    f.store.settle(f.batch);
    this.checkEmptied();
  }

  giveBack(batches: readonly Batch[]): void {
    const back = new Map<MessageStore, Batch[]>();
    for (const b of batches) {
      const f = this.inFlight.get(b.seq);
      if (f === undefined) continue;
      this.inFlight.delete(b.seq);
      back.set(f.store, [...(back.get(f.store) ?? []), f.batch]);
    }
    for (const [store, list] of back) store.giveBack(list);
  }

  async close(): Promise<void> {
    await this.backlog?.close();
    await this.own.close();
  }

  private checkEmptied(): void {
    const b = this.backlog;
    if (b === undefined || b.records > 0 || this.emptied) return;
    this.emptied = true;
    this.backlog = undefined;
    void this.onEmptied(b);
  }
}

/** The spool directories a store delivers from, in delivery order (a hand-over's chain: predecessors first). */
export function spoolDirsOf(store: MessageStore): string[] {
  if (store instanceof HandedOverStore) {
    const { backlog, own } = store.parts;
    return [...(backlog ? spoolDirsOf(backlog) : []), ...spoolDirsOf(own)];
  }
  return store.persistent === true && store.location !== undefined ? [store.location] : [];
}

/** Records a store keeps when it closes: a spool keeps all it holds, memory none. */
export function keptOnClose(store: MessageStore): number {
  return store.kept ?? (store.persistent === true ? store.records : 0);
}
