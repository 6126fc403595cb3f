// The amqp sink kind (RabbitMQ): its options, address keys and transport.
import type { SinkKind } from '../kind.js';
import { withNdjson } from '../shared/ndjson.js';
import { amqpAddressProblem } from './address.js';
import { amqpSchema, type AmqpOptions } from './options.js';

export const amqpKind: SinkKind<AmqpOptions> = {
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
  address: (s) => ({ target: s.template('exchange'), routingKey: s.template('routingKey') }),
  bufferDefaults: { maxInFlight: 20 },
  validateAddress: amqpAddressProblem,
  load: async () => {
    const { createAmqpTransport } = await import('./transport.js');
    return (o, ctx) => withNdjson(createAmqpTransport(o, ctx), o.recordsPerMessage);
  },
};
