import type { OutboundMessage } from '../record.js';

/** Records handed to the transport in one send. `seq` orders batches for requeueing. */
export interface Batch {
  readonly seq: number;
  readonly messages: OutboundMessage[];
  readonly bytes: number;
}

/**
 * Where a sink keeps the records it has not yet delivered: in memory, or in a disk
 * spool that survives restarts. Records are waiting or in flight; a record is
 * forgotten only when its batch is settled (acknowledged or refused for good).
 */
export interface MessageStore {
  /** Records held: waiting plus in flight. */
  readonly records: number;
  /** Payload bytes held: waiting plus in flight. */
  readonly bytes: number;
  /** Records waiting to be taken. */
  readonly waiting: number;
  /** A store with its own size limit (a spool) says here when it is full; otherwise the sink's high-water marks apply. */
  readonly full?: boolean;
  /** True when held records survive a restart (a spool): shutdown keeps them instead of dropping them. */
  readonly persistent?: boolean;
  /** Records that survive close, when only some do (a reload's hand-over: see HandedOverStore). */
  readonly kept?: number;
  /** Where the records are kept (a spool's directory), for the logs. */
  readonly location?: string;
  /** Set by the sink: called when a store that was full for a reason of its own (a disk that refused writes) takes records again. */
  onWritable?: (() => void) | undefined;
  /** Appends a record at the back. */
  push(message: OutboundMessage): void;
  /** Forgets the oldest waiting record; false when none is waiting (all are in flight). */
  dropOldest(): boolean;
  /** Moves up to the limits (at least one record) from waiting to in flight. */
  take(maxRecords: number, maxBytes: number): Batch | undefined;
  /** The batch is done with: forget its records. */
  settle(batch: Batch): void;
  /** Failed batches become the oldest waiting records again, in seq order. */
  giveBack(batches: readonly Batch[]): void;
  /** Persists what must survive (a spool) and releases resources. Held records stay held. */
  close(): Promise<void>;
}
