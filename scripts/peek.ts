// Shows what reached the brokers: the last records of a RabbitMQ queue and of Kafka topics.
// Usage: npm run peek -- [--queue zeek] [--topic zeek-conn ...] [--count 3]
// The queue is read with a non-destructive get + requeue; Kafka topics from the beginning.
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';

const { values } = parseArgs({
  options: {
    amqp: { type: 'string', default: process.env.ZLG_PEEK_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
    queue: { type: 'string', default: 'zeek' },
    kafka: { type: 'string', default: process.env.ZLG_PEEK_KAFKA_BROKERS ?? '127.0.0.1:9092' },
    topic: { type: 'string', multiple: true, default: [] },
    count: { type: 'string', default: '3' },
  },
});
const count = Number(values.count);

async function peekQueue(): Promise<void> {
  const conn = await amqp.connect(values.amqp);
  const ch = await conn.createChannel();
  // A missing queue closes the channel; the rejected promise below reports it.
  ch.on('error', () => undefined);
  const { messageCount } = await ch.checkQueue(values.queue);
  console.log(`RabbitMQ queue ${values.queue}: ${messageCount} messages`);
  const held = [];
  for (let i = 0; i < Math.min(count, messageCount); i++) {
    const m = await ch.get(values.queue, { noAck: false });
    if (!m) break;
    held.push(m);
    console.log(`  [${String(m.properties.headers?.['zeek-path'])}] ${m.content.toString().slice(0, 300)}`);
  }
  for (const m of held) ch.nack(m, false, true);
  await ch.close();
  await conn.close();
}

async function peekTopics(): Promise<void> {
  const kafka = new Kafka({ brokers: values.kafka.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = values.topic.length > 0 ? values.topic : (await admin.listTopics()).filter((t) => t.startsWith('zeek-'));
  for (const topic of topics.sort()) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
    console.log(`Kafka topic ${topic}: ${total} records`);
  }
  await admin.disconnect();
}

await peekQueue().catch((err: Error) => console.log(`RabbitMQ: ${err.message}`));
// amqplib may leave the broken connection open; do not wait for it.
await peekTopics().catch((err: Error) => console.log(`Kafka: ${err.message}`));
process.exit(0);
