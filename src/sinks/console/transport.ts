// Console transport: one payload per line on stdout or in a file, for trying routes without brokers.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { OutboundMessage } from '../../record.js';
import { schemaDefaults, type TransportContext } from '../shared/transport-options.js';
import type { SendResult, Transport } from '../transport.js';

export interface ConsoleOptions {
  file: string;
}

export const consoleSchema = {
  file: {
    doc: "File to append the payloads to, one per line; '' writes to stdout.",
    format: String,
    default: '',
  },
};

export function defaultConsoleOptions(): ConsoleOptions {
  return schemaDefaults<ConsoleOptions>(consoleSchema);
}

export function createConsoleTransport(options: ConsoleOptions, ctx: TransportContext): Transport {
  return new ConsoleTransport(options, ctx);
}

const NEWLINE = Buffer.from('\n');

export class ConsoleTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;
  private stream: Writable | undefined;
  private ownsStream = false;
  private failure: Error | undefined;

  constructor(
    private readonly options: ConsoleOptions,
    private readonly ctx: TransportContext,
    /** The stream to write to instead of stdout or the file (tests). */
    private readonly output?: Writable,
  ) {}

  isConnected(): boolean {
    return this.stream !== undefined && this.failure === undefined;
  }

  async start(): Promise<void> {
    if (this.output) this.stream = this.output;
    else if (this.options.file) {
      const s = createWriteStream(this.options.file, { flags: 'a' });
      await once(s, 'open'); // a bad path fails startup, not the first batch
      this.stream = s;
      this.ownsStream = true;
    } else this.stream = process.stdout;
    this.stream.on('error', (err: Error) => {
      if (this.failure) return;
      this.failure = err;
      this.ctx.logger.error({ sink: this.ctx.name, err: err.message }, 'console sink cannot write');
      this.onStateChange?.(false);
    });
    this.onStateChange?.(true);
  }

  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    const s = this.stream;
    if (!s || this.failure) throw new Error(`console sink: ${this.failure?.message ?? 'not started'}`);
    if (batch.length === 0) return {};
    // Backpressure: a full stream buffer is drained before more is written.
    if (s.writableNeedDrain) await once(s, 'drain');
    const chunks: Buffer[] = [];
    for (const m of batch) chunks.push(m.payload, NEWLINE);
    // One write per batch; acknowledged when the stream reports it written.
    await new Promise<void>((resolve, reject) => {
      s.write(Buffer.concat(chunks), (err) => (err ? reject(err) : resolve()));
    });
    return {};
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s && this.ownsStream) await new Promise<void>((resolve) => s.end(resolve));
    this.onStateChange?.(false);
  }
}
