import type { SinkKind } from './kinds.js';
import { amqpSchema, createAmqpTransport, type AmqpOptions } from './amqp.js';
import { createKafkaTransport, kafkaSchema, validateKafkaOptions, type KafkaOptions } from './kafka.js';
import { withNdjson } from './ndjson.js';
import { consoleSchema, createConsoleTransport, type ConsoleOptions } from './console.js';

const amqp: SinkKind<AmqpOptions> = {
  kind: 'amqp',
  schema: amqpSchema,
  addressing: {
    exchange: {
      doc: "Exchange to publish to (a template over the path); '' is the default exchange, where the routing key names a queue.",
      format: String,
      default: 'zeek',
    },
    routingKey: { doc: 'Routing key (a template, e.g. {path} or zeek.{path}).', format: String, default: '{path}' },
  },
  // RabbitMQ confirms persistent messages after writing them to disk, in groups: throughput
  // needs many messages awaiting confirms (20 batches of 1,000 reached 87% of a bare
  // publisher's rate in the benchmark, 1 batch 65%).
  bufferDefaults: { maxInFlight: 20 },
  create: (o, ctx) => withNdjson(createAmqpTransport(o, ctx), o.recordsPerMessage),
};

const kafka: SinkKind<KafkaOptions> = {
  kind: 'kafka',
  schema: kafkaSchema,
  addressing: {
    topic: { doc: 'Topic to produce to (a template, e.g. zeek-{path} or zeek).', format: String, default: 'zeek-{path}' },
    keyField: {
      doc: "Record field whose value is the message key (e.g. uid: a connection's records share a partition, in order); '' for no key.",
      format: String,
      default: '',
    },
  },
  propertyMaps: ['librdkafkaOptions'],
  validate: validateKafkaOptions,
  create: (o, ctx) => withNdjson(createKafkaTransport(o, ctx), o.recordsPerMessage),
};

const console: SinkKind<ConsoleOptions> = {
  kind: 'console',
  schema: consoleSchema,
  addressing: {},
  create: createConsoleTransport,
};

/** Every sink kind the gateway knows, by its `type` name. */
export const SINK_KINDS: ReadonlyMap<string, SinkKind<never>> = new Map<string, SinkKind<never>>(
  [amqp, kafka, console].map((k) => [k.kind, k as unknown as SinkKind<never>]),
);
