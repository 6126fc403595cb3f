// AMQP ceiling (a child process of the suite): a bare amqplib publisher on a confirm channel with
// the gateway's AMQP settings (persistent, content type application/json, the zeek-path header,
// the tagged envelope, a topic exchange routing by `<prefix>.<path>`) — but pipelined: it keeps
// publishing while up to `window` messages await their confirm, and waits on the channel's
// 'drain' when the socket buffer is full, as a throughput-minded publisher would.
import amqp from 'amqplib';
import type { ConfirmChannel } from 'amqplib';
import type { OutboundRecord } from './lib/data.js';
import { routingKeyOf } from './lib/brokers.js';
import { AckWindow, serveCeiling, type CeilingClient, type CeilingJob } from './lib/ceiling-client.js';
import { reply } from './lib/ipc.js';

export interface AmqpPublisherJob extends CeilingJob {
  url: string;
  exchange: string;
  prefix: string;
  /** Messages awaiting their confirm at once. */
  window: number;
}

async function open(job: AmqpPublisherJob): Promise<CeilingClient> {
  const conn = await amqp.connect(job.url, { timeout: 10_000, noDelay: true, keepAlive: true });
  const ch = await conn.createConfirmChannel();
  // A lost connection fails the run (reported to the suite) instead of crashing the process.
  const fail = (err: Error): void => reply({ type: 'error', message: `AMQP connection failed: ${err.message}` });
  conn.on('error', fail);
  ch.on('error', fail);
  return { send: (records) => publishAll(ch, job, records), close: () => conn.close() };
}

async function publishAll(c: ConfirmChannel, job: AmqpPublisherJob, records: Iterable<OutboundRecord>): Promise<void> {
  const window = new AckWindow(job.window);
  const confirmed = (err: unknown): void => window.acked(err ? new Error(`publish not confirmed: ${String(err)}`) : undefined);
  const props = { persistent: true, contentType: 'application/json' };
  for (const r of records) {
    window.check();
    if (window.full) await window.opened();
    window.sent();
    const ok = c.publish(job.exchange, routingKeyOf(job.prefix, r.path), r.payload, { ...props, headers: r.headers }, confirmed);
    if (!ok) await new Promise<void>((res) => c.once('drain', () => res()));
  }
  await c.waitForConfirms();
  window.check();
}

serveCeiling<AmqpPublisherJob>(open);
