import type { OutboundMessage } from '../record.js';

/**
 * What a broker adapter implements. The generic BufferedSink owns the buffer,
 * the high-water mark, the when-full policy, retries with backoff and metrics;
 * a Transport only knows how to talk to its broker.
 */
export interface Transport {
  /** Connect (or start connecting). Must not throw just because the broker is down, unless failFast. */
  start(): Promise<void>;
  /**
   * Publish a batch and resolve only when the broker has acknowledged every
   * message in it (publisher confirms, Kafka acks). Reject if any message was not
   * acknowledged; the caller retries the whole batch (at-least-once).
   * Messages the broker definitively refused and that must not be retried
   * (unroutable returns, record too large) are reported through the result.
   */
  send(batch: readonly OutboundMessage[], hooks?: SendHooks): Promise<SendResult>;
  /** True while connected and able to publish. */
  isConnected(): boolean;
  /** Close connections; pending sends may reject. */
  close(): Promise<void>;
  /** Called by the transport when its connection state changes. */
  onStateChange?: ((connected: boolean) => void) | undefined;
}

/** What a transport may tell the sink about a send while it is in progress. */
export interface SendHooks {
  /**
   * The batch now waits only for destinations that do not exist yet (a Kafka topic nobody
   * created): the sink may send later batches meanwhile instead of holding them behind it.
   * The transport keeps each destination's records in order across such waiting batches.
   */
  waiting?(): void;
}

export interface SendResult {
  /** Messages the broker refused for good (not retried), with the reason. */
  readonly rejected?: ReadonlyArray<{ readonly message: OutboundMessage; readonly reason: string }>;
}

/** Refusal reasons about size: the broker refused a message or record batch, not necessarily each record in it. */
export const SIZE_REFUSALS: ReadonlySet<string> = new Set(['message_too_large', 'record_list_too_large']);
