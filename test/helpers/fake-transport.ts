// A controllable in-memory transport for unit tests of sink logic (not of brokers).
import type { OutboundMessage } from '../../src/record.js';
import type { SendHooks, SendResult, Transport } from '../../src/sinks/transport.js';

interface PendingSend {
  batch: readonly OutboundMessage[];
  resolve: (r: SendResult) => void;
  reject: (e: Error) => void;
}

export class FakeTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;
  connected = true;
  /** 'auto' acknowledges immediately; 'manual' waits for ack()/fail(). */
  mode: 'auto' | 'manual' = 'auto';
  /** Everything acknowledged, in order. */
  readonly delivered: OutboundMessage[] = [];
  readonly batches: number[] = [];
  readonly inFlight: PendingSend[] = [];
  /** Fail the next N sends (in auto mode). */
  failNext = 0;
  /** Reasons for messages to refuse, by payload text. */
  refuse = new Map<string, string>();
  closed = false;

  async start(): Promise<void> {}
  isConnected(): boolean {
    return this.connected;
  }
  async close(): Promise<void> {
    this.closed = true;
  }

  send(batch: readonly OutboundMessage[], _hooks?: SendHooks): Promise<SendResult> {
    this.batches.push(batch.length);
    return new Promise<SendResult>((resolve, reject) => {
      const p = { batch, resolve, reject };
      if (this.mode === 'manual') {
        this.inFlight.push(p);
        return;
      }
      if (this.failNext > 0) {
        this.failNext--;
        reject(new Error('broker unavailable'));
        return;
      }
      this.complete(p);
    });
  }

  /** Acknowledges the oldest in-flight send (manual mode). */
  ack(): void {
    const p = this.inFlight.shift();
    if (!p) throw new Error('nothing in flight');
    this.complete(p);
  }

  /** Fails the oldest in-flight send (manual mode). */
  fail(): void {
    const p = this.inFlight.shift();
    if (!p) throw new Error('nothing in flight');
    p.reject(new Error('connection lost'));
  }

  setConnected(c: boolean): void {
    this.connected = c;
    this.onStateChange?.(c);
  }

  private complete(p: PendingSend): void {
    const rejected: { message: OutboundMessage; reason: string }[] = [];
    for (const m of p.batch) {
      const reason = this.refuse.get(m.payload.toString());
      if (reason) rejected.push({ message: m, reason });
      else this.delivered.push(m);
    }
    p.resolve(rejected.length ? { rejected } : {});
  }
}
