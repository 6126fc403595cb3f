// Bookkeeping for one batch published on an AMQP confirm channel: counts the broker's
// confirms, collects returned (unroutable) messages and settles exactly once.
import type { OutboundMessage } from '../../record.js';
import type { SendResult } from '../transport.js';

type Rejection = { readonly message: OutboundMessage; readonly reason: string };

export class ConfirmTracker<C = unknown> {
  /** The channel the batch is published on, so that a closing channel fails only its own batches. */
  channel: C | undefined;
  /** Message ids registered for return matching, removed when the batch settles. */
  readonly ids: string[] = [];
  private awaiting = 0;
  private allPublished = false;
  private settled = false;
  private failure: Error | undefined;
  private readonly rejected: Rejection[] = [];
  private readonly returned = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private resolveDone!: (r: SendResult) => void;
  private rejectDone!: (e: Error) => void;
  private rejectFailed!: (e: Error) => void;
  /** Settles when every published message is confirmed (or the batch failed). */
  readonly done: Promise<SendResult>;
  /** Rejects as soon as the batch fails; never resolves. For racing the publish loop's waits. */
  private readonly failed: Promise<never>;

  constructor(
    private readonly batch: readonly OutboundMessage[],
    timeoutMs: number,
  ) {
    this.done = new Promise<SendResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    // Both are also awaited by send(); these handlers only keep an early failure from being "unhandled".
    this.done.catch(() => {});
    this.failed.catch(() => {});
    this.timer = setTimeout(
      () => this.fail(new Error(`AMQP: broker did not confirm the batch within ${timeoutMs} ms`)),
      timeoutMs,
    );
  }

  get isSettled(): boolean {
    return this.settled;
  }

  /** Throws the failure, if the batch already failed. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Waits for `p` unless the batch fails first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }

  /** A message of the batch was handed to the channel; its confirm is awaited. */
  published(): void {
    this.awaiting++;
  }

  /** A message the transport refused itself, before publishing it. */
  refuse(index: number, reason: string): void {
    this.rejected.push({ message: this.batch[index] as OutboundMessage, reason });
  }

  /** The broker returned the message (mandatory and unroutable). Its confirm follows. */
  markReturned(index: number): void {
    if (this.returned.has(index)) return;
    this.returned.add(index);
    this.rejected.push({ message: this.batch[index] as OutboundMessage, reason: 'unroutable' });
  }

  /** The publish callback of one message: `err` on a nack or when the channel closed. */
  confirm(err: unknown): void {
    if (this.settled) return;
    if (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.fail(new Error(text === 'message nacked' ? 'AMQP: broker nacked a message' : `AMQP: ${text}`));
      return;
    }
    this.awaiting--;
    this.maybeFinish();
  }

  /** The publish loop is over: from now on the batch completes with its last confirm. */
  publishingDone(): void {
    this.allPublished = true;
    this.maybeFinish();
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.failure = err;
    clearTimeout(this.timer);
    this.rejectFailed(err);
    this.rejectDone(err);
  }

  private maybeFinish(): void {
    if (this.settled || !this.allPublished || this.awaiting > 0) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolveDone(this.rejected.length > 0 ? { rejected: this.rejected } : {});
  }
}
