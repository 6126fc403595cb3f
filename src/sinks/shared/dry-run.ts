import type { OutboundMessage } from '../../record.js';
import type { SendResult, Transport } from '../transport.js';

/**
 * Stands in for a sink's transport under `run --dry-run`: nothing is published; one
 * JSON line per record says which sink, address and path it would have gone to.
 */
export class DryRunTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;

  constructor(
    private readonly sink: string,
    private readonly kind: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.onStateChange?.(true);
  }

  isConnected(): boolean {
    return true;
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    let text = '';
    for (const m of batch) text += `${JSON.stringify(this.describe(m))}\n`;
    if (!this.out.write(text)) await new Promise((r) => this.out.once('drain', r));
    return {};
  }

  async close(): Promise<void> {}

  private describe(m: OutboundMessage): Record<string, unknown> {
    const where: Record<string, unknown> =
      this.kind === 'amqp'
        ? { exchange: m.address.target, routingKey: m.address.routingKey }
        : this.kind === 'kafka'
          ? { topic: m.address.target, key: m.address.key?.toString() ?? null }
          : { target: m.address.target };
    return { sink: this.sink, ...where, path: m.record.path, sender: m.record.sender, bytes: m.payload.length, ...(m.headers ?? {}) };
  }
}
