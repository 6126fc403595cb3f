// @platformatic/kafka ceiling (a child process of the suite): a bare @platformatic/kafka producer
// sending the replay's records, tagged exactly as the gateway tags them (envelope, zeek-path and
// zeek-sender headers, no key), with the producer options the gateway derives from its default Kafka
// options (platformaticProducerOptions of src/sinks/kafka/platformatic.ts: acks=-1, no compression,
// the Java client's murmur2, the same timeouts and retries) — taken from the gateway's own code, so
// that they cannot drift. Batches as the kafkajs ceiling cuts them, several in flight.
import { Producer } from '@platformatic/kafka';
import type { OutboundRecord } from './lib/data.js';
import { KAFKA_BROKERS, topicOf } from './lib/brokers.js';
import { serveCeiling, type CeilingClient } from './lib/ceiling-client.js';
import type { KafkaProducerJob } from './kafka-producer.js';
import { defaultKafkaOptions } from '../src/sinks/kafka/options.js';
import { platformaticProducerOptions } from '../src/sinks/kafka/platformatic.js';

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer>;
type Message = { topic: string; value: Buffer; headers: Map<Buffer, Buffer> };

async function open(job: KafkaProducerJob): Promise<CeilingClient> {
  const producer: BufferProducer = new Producer(platformaticProducerOptions({ ...defaultKafkaOptions(), client: 'platformatic', brokers: KAFKA_BROKERS }));
  await producer.metadata({ topics: [], forceUpdate: true });
  return { send: (records) => sendAll(producer, job, records), close: () => producer.close() };
}

async function sendAll(p: BufferProducer, job: KafkaProducerJob, records: Iterable<OutboundRecord>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  // outboundRecords() gives every record of a dataset message the same headers object: one map each.
  const headerMaps = new WeakMap<Record<string, string>, Map<Buffer, Buffer>>();
  let batch: Message[] = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    const messages = batch;
    batch = [];
    batchBytes = 0;
    const sent: Promise<unknown> = p.send({ messages }).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    while (inFlight.size >= job.inFlight) await Promise.race(inFlight);
  };
  for (const r of records) {
    if (batch.length > 0 && (batch.length >= job.batchRecords || batchBytes + r.payload.length > job.batchBytes)) await flush();
    let headers = headerMaps.get(r.headers);
    if (!headers) headerMaps.set(r.headers, (headers = new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]))));
    batch.push({ topic: topicOf(job.prefix, r.path), value: r.payload, headers });
    batchBytes += r.payload.length;
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
}

serveCeiling<KafkaProducerJob>(open);
