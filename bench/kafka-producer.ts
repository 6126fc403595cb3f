// Kafka ceiling (a child process of the suite): a bare kafkajs producer sending the replay's
// records, tagged exactly as the gateway tags them, with the gateway's Kafka settings (acks=-1,
// no compression, the default murmur2 partitioner, the same retry settings and batch limits of
// 1000 records / 900,000 bytes) — but with several batches in flight, as a throughput-minded
// producer would pipeline them.
import kafkajs from 'kafkajs';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import { loadDataset, makePlan, outboundRecords, type Dataset, type Plan } from './lib/data.js';
import { kafka, topicOf } from './lib/brokers.js';
import { cpuSeconds, nowMs, reply, serveJob } from './lib/ipc.js';

const { CompressionTypes, Partitioners } = kafkajs;

export interface KafkaProducerJob {
  dataset: string;
  records: number;
  prefix: string;
  batchRecords: number;
  batchBytes: number;
  /** sendBatch calls awaiting acknowledgement at once. */
  inFlight: number;
}

let producer: Producer | undefined;
let data: { d: Dataset; plan: Plan; job: KafkaProducerJob } | undefined;

async function prepare(job: KafkaProducerJob): Promise<void> {
  const d = loadDataset(job.dataset);
  data = { d, plan: makePlan(d, job.records), job };
  // The gateway's defaults: connectionTimeout 3000, requestTimeout 30000, retries 3 (300..5000 ms).
  producer = kafka({ connectionTimeout: 3000, requestTimeout: 30_000, retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 5000 } }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
    idempotent: false,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  await producer.connect();
}

async function run(): Promise<void> {
  if (!producer || !data) throw new Error('go before prepare');
  const p = producer;
  const { d, plan, job } = data;
  const inFlight = new Set<Promise<unknown>>();
  let batch = new Map<string, Message[]>();
  let batchRecords = 0;
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    const topicMessages: TopicMessages[] = [...batch].map(([topic, messages]) => ({ topic, messages }));
    batch = new Map();
    batchRecords = 0;
    batchBytes = 0;
    const sent: Promise<unknown> = p
      .sendBatch({ topicMessages, acks: -1, timeout: 30_000, compression: CompressionTypes.None })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    while (inFlight.size >= job.inFlight) await Promise.race(inFlight);
  };
  const cpu0 = cpuSeconds();
  const start = nowMs();
  for (const r of outboundRecords(d, plan)) {
    if (batchRecords > 0 && (batchRecords >= job.batchRecords || batchBytes + r.payload.length > job.batchBytes)) await flush();
    const topic = topicOf(job.prefix, r.path);
    let list = batch.get(topic);
    if (!list) batch.set(topic, (list = []));
    list.push({ value: r.payload, headers: r.headers });
    batchRecords++;
    batchBytes += r.payload.length;
  }
  if (batchRecords > 0) await flush();
  await Promise.all(inFlight);
  reply({ type: 'done', startMs: start, endMs: nowMs(), records: plan.records, cpuSeconds: cpuSeconds() - cpu0 });
  await p.disconnect();
}

serveJob<KafkaProducerJob>(prepare, run);
