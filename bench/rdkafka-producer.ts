// librdkafka Kafka ceiling (a child process of the suite): a bare node-rdkafka producer sending the
// replay's records, tagged exactly as the gateway tags them (envelope, zeek-path and zeek-sender
// headers, no key), with the librdkafka configuration the gateway derives from its default Kafka
// options (rdkafkaConfig of src/sinks/kafka/librdkafka.ts: acks=-1, no compression, murmur2_random,
// the same timeouts and retries) — taken from the gateway's own code, so that they cannot drift.
// librdkafka batches by itself; the producer keeps up to `window` records awaiting their delivery
// reports, as a throughput-minded producer would, and polls for the reports every millisecond.
import type { OutboundRecord } from './lib/data.js';
import { KAFKA_BROKERS, topicOf } from './lib/brokers.js';
import { AckWindow, serveCeiling, type CeilingClient, type CeilingJob } from './lib/ceiling-client.js';
import { defaultKafkaOptions } from '../src/sinks/kafka/options.js';
import { loadRdkafka, rdkafkaConfig } from '../src/sinks/kafka/librdkafka.js';

export interface RdkafkaProducerJob extends CeilingJob {
  prefix: string;
  /** Records awaiting their delivery report at once (below librdkafka's queue of 100,000). */
  window: number;
}

type RdProducer = InstanceType<NonNullable<ReturnType<typeof loadRdkafka>['module']>['Producer']>;

/** How often delivery reports are polled for (node-rdkafka's setPollInterval(1), as a timer here). */
const POLL_MS = 1;

async function open(job: RdkafkaProducerJob): Promise<CeilingClient> {
  const { module, error } = loadRdkafka();
  if (!module) throw new Error(`ceiling-rdkafka: ${error}`);
  const { global, topic } = rdkafkaConfig({ ...defaultKafkaOptions(), client: 'librdkafka', brokers: KAFKA_BROKERS });
  const producer = new module.Producer(global, topic);
  producer.on('event.error', (err) => process.stderr.write(`librdkafka: ${err.message} (code ${err.code})\n`));
  await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
  const poller = setInterval(() => producer.poll(), POLL_MS);
  return {
    send: (records) => produceAll(producer, job, records),
    close: async () => {
      clearInterval(poller);
      await new Promise<void>((resolve) => producer.disconnect(5000, () => resolve()));
    },
  };
}

async function produceAll(producer: RdProducer, job: RdkafkaProducerJob, records: Iterable<OutboundRecord>): Promise<void> {
  const window = new AckWindow(job.window);
  producer.on('delivery-report', (err) => window.acked(err ? new Error(`Kafka: record not delivered: ${err.message}`) : undefined));
  // node-rdkafka takes headers as a list of one-entry objects; outboundRecords() gives every record
  // of a dataset message the same headers object, so each list is made once (as the gateway caches them).
  const headerLists = new WeakMap<Record<string, string>, Array<Record<string, string>>>();
  for (const r of records) {
    window.check();
    if (window.full) await window.opened();
    let headers = headerLists.get(r.headers);
    if (!headers) headerLists.set(r.headers, (headers = Object.entries(r.headers).map(([k, v]) => ({ [k]: v }))));
    window.sent();
    producer.produce(topicOf(job.prefix, r.path), null, r.payload, null, null, null, headers);
  }
  await window.drained();
}

serveCeiling<RdkafkaProducerJob>(open);
