// What the bare broker clients of the ceilings (kafka-producer.ts, platformatic-producer.ts,
// amqp-publisher.ts) have in common: each is a child process that loads the replay plan and
// connects on 'prepare', then sends every record of the plan on 'go' and reports 'done' once the
// broker acknowledged them all — so that the clients differ only in how they send.
import { loadDataset, makePlan, outboundRecords, type OutboundRecord } from './data.js';
import { cpuSeconds, nowMs, reply, serveJob } from './ipc.js';

/** The part of a ceiling job every client has. */
export interface CeilingJob {
  dataset: string;
  records: number;
}

/** A connected bare client. */
export interface CeilingClient {
  /** Sends the records; resolves once the broker acknowledged every one (rejects on a failure). */
  send(records: Iterable<OutboundRecord>): Promise<void>;
  close(): Promise<void>;
}

/** The 'done' message of a ceiling client (CLOCK_MONOTONIC ms; its own process's CPU, all threads). */
export interface CeilingDone {
  type: 'done';
  startMs: number;
  endMs: number;
  records: number;
  cpuSeconds: number;
}

/** In a ceiling child: prepare = load the plan and `open` the client; go = send it all and report. */
export function serveCeiling<J extends CeilingJob>(open: (job: J) => Promise<CeilingClient>): void {
  let prepared: { records: Iterable<OutboundRecord>; count: number; client: CeilingClient } | undefined;
  serveJob<J>(
    async (job) => {
      const d = loadDataset(job.dataset);
      const plan = makePlan(d, job.records);
      prepared = { records: outboundRecords(d, plan), count: plan.records, client: await open(job) };
    },
    async () => {
      if (!prepared) throw new Error('go before prepare');
      const { records, count, client } = prepared;
      const cpu0 = cpuSeconds();
      const startMs = nowMs();
      await client.send(records);
      const done: CeilingDone = { type: 'done', startMs, endMs: nowMs(), records: count, cpuSeconds: cpuSeconds() - cpu0 };
      reply({ ...done });
      await client.close();
    },
  );
}

/**
 * Bounds the records awaiting acknowledgement, for clients that acknowledge record by record:
 * full at `size`, open again once half of them are acknowledged (fewer, larger wake-ups than
 * reopening at size − 1). The first failure is kept and thrown to the sender.
 */
export class AckWindow {
  private outstanding = 0;
  private failure: Error | undefined;
  private waiter: { until: () => boolean; resolve: () => void } | undefined;

  constructor(private readonly size: number) {}

  get full(): boolean {
    return this.outstanding >= this.size;
  }

  sent(): void {
    this.outstanding++;
  }

  acked(failure?: Error): void {
    this.outstanding--;
    if (failure) this.failure ??= failure;
    const w = this.waiter;
    if (w && (this.failure || w.until())) {
      this.waiter = undefined;
      w.resolve();
    }
  }

  /** Throws the first failure, if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Resolves once the window is half empty again (or something failed). */
  opened(): Promise<void> {
    return this.wait(() => this.outstanding < this.size / 2);
  }

  /** Resolves once every record sent is acknowledged (or something failed). */
  drained(): Promise<void> {
    return this.wait(() => this.outstanding <= 0);
  }

  private async wait(until: () => boolean): Promise<void> {
    if (!this.failure && !until()) await new Promise<void>((resolve) => (this.waiter = { until, resolve }));
    this.check();
  }
}
