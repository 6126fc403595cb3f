// The kafka sink kind: its options, address keys, and the transport of the configured
// client (@platformatic/kafka or kafkajs).
import type { SinkKind } from '../kind.js';
import { withNdjson } from '../shared/ndjson.js';
import type { TransportContext } from '../shared/transport-options.js';
import type { Transport } from '../transport.js';
import { kafkaAddressProblem } from './address.js';
import { KafkaTransport } from './kafkajs.js';
import { PlatformaticKafkaTransport } from './platformatic.js';
import { kafkaOptionProblems, kafkaSchema, type KafkaOptions } from './options.js';

export function createKafkaTransport(options: KafkaOptions, ctx: TransportContext): Transport {
  return options.client === 'kafkajs' ? new KafkaTransport(options, ctx) : new PlatformaticKafkaTransport(options, ctx);
}

export const kafkaKind: SinkKind<KafkaOptions> = {
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
  address: (s) => ({ target: s.template('topic'), keyField: s.value('keyField') || undefined }),
  retired: {
    librdkafkaOptions: 'was retired with the librdkafka client (node-rdkafka): remove it; the platformatic and kafkajs clients take their settings from the options documented in docs/configuration.md',
  },
  validateAddress: kafkaAddressProblem,
  validate: kafkaOptionProblems,
  create: (o, ctx) => withNdjson(createKafkaTransport(o, ctx), o.recordsPerMessage),
};
