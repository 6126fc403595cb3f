// Kafka ceiling (a child process of the suite): a bare kafkajs producer sending the replay's
// records, tagged exactly as the gateway tags them, with the gateway's Kafka settings (acks=-1,
// no compression, the default murmur2 partitioner, the same retry settings and batch limits of
// 1000 records / 900,000 bytes) — but with several batches in flight, as a throughput-minded
// producer would pipeline them.
import kafkajs from 'kafkajs';
import type { Message, Producer, TopicMessages } from 'kafkajs';
import type { OutboundRecord } from './lib/data.js';
import { kafka, topicOf } from './lib/brokers.js';
import { serveCeiling, type CeilingClient, type CeilingJob } from './lib/ceiling-client.js';

const { CompressionTypes, Partitioners } = kafkajs;

export interface KafkaProducerJob extends CeilingJob {
  prefix: string;
  batchRecords: number;
  batchBytes: number;
  /** sendBatch calls awaiting acknowledgement at once. */
  inFlight: number;
}

async function open(job: KafkaProducerJob): Promise<CeilingClient> {
  // The gateway's defaults: connectionTimeout 3000, requestTimeout 30000, retries 3 (300..5000 ms).
  const producer = kafka({ connectionTimeout: 3000, requestTimeout: 30_000, retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 5000 } }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
    idempotent: false,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 5000 },
  });
  await producer.connect();
  return { send: (records) => sendAll(producer, job, records), close: () => producer.disconnect() };
}

async function sendAll(p: Producer, job: KafkaProducerJob, records: Iterable<OutboundRecord>): Promise<void> {
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
  for (const r of records) {
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
}

serveCeiling<KafkaProducerJob>(open);
