// AMQP ceiling (a child process of the suite): a bare amqplib publisher on a confirm channel with
// the gateway's AMQP settings (persistent, content type application/json, the zeek-path header,
// the tagged envelope, a topic exchange routing by `<prefix>.<path>`) — but pipelined: it keeps
// publishing while up to `window` messages await their confirm, and waits on the channel's
// 'drain' when the socket buffer is full, as a throughput-minded publisher would.
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { loadDataset, makePlan, outboundRecords, type Dataset, type Plan } from './lib/data.js';
import { routingKeyOf } from './lib/brokers.js';
import { cpuSeconds, nowMs, reply, serveJob } from './lib/ipc.js';

export interface AmqpPublisherJob {
  dataset: string;
  records: number;
  url: string;
  exchange: string;
  prefix: string;
  /** Messages awaiting their confirm at once. */
  window: number;
}

let conn: ChannelModel | undefined;
let ch: ConfirmChannel | undefined;
let data: { d: Dataset; plan: Plan; job: AmqpPublisherJob } | undefined;

async function prepare(job: AmqpPublisherJob): Promise<void> {
  const d = loadDataset(job.dataset);
  data = { d, plan: makePlan(d, job.records), job };
  conn = await amqp.connect(job.url, { timeout: 10_000, noDelay: true, keepAlive: true });
  ch = await conn.createConfirmChannel();
  // A lost connection fails the run (reported to the suite) instead of crashing the process.
  const fail = (err: Error): void => reply({ type: 'error', message: `AMQP connection failed: ${err.message}` });
  conn.on('error', fail);
  ch.on('error', fail);
}

async function run(): Promise<void> {
  if (!ch || !conn || !data) throw new Error('go before prepare');
  const c = ch;
  const { d, plan, job } = data;
  let outstanding = 0;
  let failed: Error | undefined;
  let wake: (() => void) | undefined;
  const confirmed = (err: unknown): void => {
    outstanding--;
    if (err) failed ??= new Error(`publish not confirmed: ${String(err)}`);
    if (wake && outstanding < job.window / 2) {
      const w = wake;
      wake = undefined;
      w();
    }
  };
  const cpu0 = cpuSeconds();
  const start = nowMs();
  const props = { persistent: true, contentType: 'application/json' };
  for (const r of outboundRecords(d, plan)) {
    if (failed) throw failed;
    if (outstanding >= job.window) await new Promise<void>((res) => (wake = res));
    outstanding++;
    const ok = c.publish(job.exchange, routingKeyOf(job.prefix, r.path), r.payload, { ...props, headers: r.headers }, confirmed);
    if (!ok) await new Promise<void>((res) => c.once('drain', () => res()));
  }
  await c.waitForConfirms();
  if (failed) throw failed;
  reply({ type: 'done', startMs: start, endMs: nowMs(), records: plan.records, cpuSeconds: cpuSeconds() - cpu0 });
  await conn.close();
}

serveJob<AmqpPublisherJob>(prepare, run);
