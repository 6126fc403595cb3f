// The kafka sink kind: its options, address keys, and the transport of the configured
// client (@platformatic/kafka, kafkajs, or librdkafka through the optional node-rdkafka package).
import type { SinkKind } from '../kind.js';
import { withNdjson } from '../shared/ndjson.js';
import type { TransportContext } from '../shared/transport-options.js';
import type { Transport } from '../transport.js';
import { kafkaAddressProblem } from './address.js';
import { KafkaTransport } from './kafkajs.js';
import { RdKafkaTransport, rdkafkaProblems } from './librdkafka.js';
import { PlatformaticKafkaTransport } from './platformatic.js';
import { kafkaOptionProblems, kafkaSchema, type KafkaOptions } from './options.js';

/** Every check that spans several options, the chosen client's own included. Keys as in the schema. */
export function validateKafkaOptions(o: KafkaOptions): Array<{ key: string; message: string }> {
  const problems = kafkaOptionProblems(o);
  if (o.client === 'librdkafka') problems.push(...rdkafkaProblems(o));
  return problems;
}

export function createKafkaTransport(options: KafkaOptions, ctx: TransportContext): Transport {
  if (options.client === 'platformatic') return new PlatformaticKafkaTransport(options, ctx);
  return options.client === 'librdkafka' ? new RdKafkaTransport(options, ctx) : new KafkaTransport(options, ctx);
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
  propertyMaps: ['librdkafkaOptions'],
  validateAddress: kafkaAddressProblem,
  validate: validateKafkaOptions,
  create: (o, ctx) => withNdjson(createKafkaTransport(o, ctx), o.recordsPerMessage),
};
