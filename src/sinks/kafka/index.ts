// The kafka sink kind: its options, address keys, and the transport of the configured
// client (@platformatic/kafka or kafkajs).
import type { SinkKind, TransportFactory } from '../kind.js';
import { withNdjson } from '../shared/ndjson.js';
import { kafkaAddressProblem } from './address.js';
import { kafkaOptionProblems, kafkaSchema, type KafkaOptions } from './options.js';

/** The transport of the configured client; only that client's library (and its codecs) is imported. */
export async function loadKafkaTransport(options: Pick<KafkaOptions, 'client'>): Promise<TransportFactory<KafkaOptions>> {
  if (options.client === 'kafkajs') {
    const { KafkaTransport } = await import('./kafkajs.js');
    return (o, ctx) => new KafkaTransport(o, ctx);
  }
  const { PlatformaticKafkaTransport } = await import('./platformatic.js');
  return (o, ctx) => new PlatformaticKafkaTransport(o, ctx);
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
  load: async (options) => {
    const create = await loadKafkaTransport(options);
    return (o, ctx) => withNdjson(create(o, ctx), o.recordsPerMessage);
  },
};
