// Verifier of a frame-forwarding peer's run (a child process of the peers suite): reads the one
// Kafka topic rsyslog wrote to from the beginning and tallies its frames against the replay plan
// (FrameTally). Done when every record arrived (then a moment for late duplicates), or when
// nothing new arrived for idleTimeoutMs.
import { loadDataset, makePlan } from '../lib/data.js';
import { kafka } from '../lib/brokers.js';
import { nowMs, reply, serve, uniqueSuffix } from '../lib/ipc.js';
import { FrameTally, type FrameCounts } from './frame-tally.js';

export interface FrameConsumerJob {
  dataset: string;
  records: number;
  topic: string;
  idleTimeoutMs: number;
}

export interface FrameConsumerDone extends FrameCounts {
  type: 'done';
  timedOut: boolean;
}

serve(async (m) => {
  if (m.type !== 'start') return;
  const job = m.job as FrameConsumerJob;
  const d = loadDataset(job.dataset);
  const tally = new FrameTally(d, makePlan(d, job.records));
  const consumer = kafka().consumer({ groupId: `zlg-bench-peers-${uniqueSuffix()}`, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [job.topic], fromBeginning: true });
  // Offsets are never committed: a rebalance starts over, and what was read is skipped by offset.
  let last = -1n;
  let seenAt = nowMs();
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const msg of batch.messages) {
        const offset = BigInt(msg.offset);
        if (offset <= last) continue;
        last = offset;
        tally.add(msg.value ?? Buffer.alloc(0));
      }
      seenAt = nowMs();
    },
  });
  reply({ type: 'consuming' });
  let timedOut = false;
  while (!tally.complete) {
    if (nowMs() - seenAt > job.idleTimeoutMs) {
      timedOut = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!timedOut) await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  const done: FrameConsumerDone = { type: 'done', ...tally.counts(), timedOut };
  reply(done as unknown as { type: string });
});
