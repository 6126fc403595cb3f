// The peers' configs for one run. Redpanda Connect's follow the recipes in
// ../shared/peers/redpanda-connect/sub-{kafka,amqp}.yaml (read there for the reasoning), with the
// run's addressing and the gateway's defaults where the peer has the same knob: a topic per path
// and the zeek-path header (Kafka), the run's routing-key prefix (AMQP), the SUB receive HWM and
// the batch limits. rsyslog's is ../shared/peers/rsyslog/imczmq-omkafka.conf.in, read in place.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bufferSchema } from '../../src/buffer/index.js';
import { subIngressSchema } from '../../src/ingress/zmq-sub.js';

/** Root of the peers' recipes (../shared/peers; ZLG_PEERS overrides, as in scripts/peers.sh). */
export function recipesRoot(): string {
  return resolve(process.env.ZLG_PEERS ?? join(process.cwd(), '..', 'shared', 'peers'));
}

/** Where the run's messages go: the same names the gateway's runs use (bench/lib/brokers.ts). */
export interface PeerAddressing {
  /** ZeroMQ endpoint the peer binds its SUB socket to (the generator's XPUB connects). */
  endpoint: string;
  httpPort: number;
  kafkaBrokers: string[];
  /** Kafka topic of a path: `${topicPrefix}-<path>` (topicOf in bench/lib/brokers.ts). */
  topicPrefix: string;
  amqpUrl: string;
  exchange: string;
  /** AMQP routing key of a path: `${routingKeyPrefix}.<path>` (routingKeyOf). */
  routingKeyPrefix: string;
}

/** Redpanda Connect's metadata key (and so Kafka / AMQP header) carrying the path, as the gateway's header. */
export const PATH_HEADER = 'zeek-path';

/**
 * Pairs the two frames of an NCSA message and builds the gateway's tagged envelope
 * `{"<path>":<record>}` by concatenation (the record is not parsed, as in the gateway). The zmq4
 * input hands each multipart message over as a batch of its frames; `archive: lines` joins them
 * with "\n", which neither a path nor Zeek's JSON contains.
 */
export const TAGGING_MAPPING = [
  'let s = content().string()',
  'let i = $s.index_of("\\n")',
  `meta "${PATH_HEADER}" = $s.slice(0, $i)`,
  'root = "{\\"" + $s.slice(0, $i) + "\\":" + $s.slice($i + 1) + "}"',
].join('\n');

const pathInterpolation = `\${! metadata("${PATH_HEADER}") }`;

function common(a: PeerAddressing): Record<string, unknown> {
  return {
    http: { address: `127.0.0.1:${a.httpPort}` },
    logger: { level: 'warn' },
    input: {
      zmq4: {
        urls: [a.endpoint],
        bind: true,
        socket_type: 'SUB',
        sub_filters: [''],
        high_water_mark: subIngressSchema.receiveHighWaterMark.default,
      },
    },
    pipeline: { processors: [{ archive: { format: 'lines' } }, { mapping: TAGGING_MAPPING }] },
  };
}

/** zmq4 SUB → kafka_franz, a topic per path, the zeek-path header; acks=all (franz-go's idempotent producer). */
export function rpconnectKafkaConfig(a: PeerAddressing): Record<string, unknown> {
  return {
    ...common(a),
    output: {
      kafka_franz: {
        seed_brokers: a.kafkaBrokers,
        topic: `${a.topicPrefix}-${pathInterpolation}`,
        compression: 'none',
        metadata: { include_patterns: [`^${PATH_HEADER}$`] },
        max_in_flight: 10,
        batching: {
          count: bufferSchema.batchMaxRecords.default,
          byte_size: bufferSchema.batchMaxBytes.default,
          period: '5ms',
        },
      },
    },
  };
}

/** Messages awaiting their publisher confirm in amqp_0_9 (its default). */
export const RPCONNECT_AMQP_IN_FLIGHT = 64;

/** zmq4 SUB → amqp_0_9: persistent, application/json, routing key = prefix.path, the zeek-path header, confirms. */
export function rpconnectAmqpConfig(a: PeerAddressing): Record<string, unknown> {
  return {
    ...common(a),
    output: {
      amqp_0_9: {
        urls: [a.amqpUrl],
        exchange: a.exchange,
        key: `${a.routingKeyPrefix}.${pathInterpolation}`,
        persistent: true,
        content_type: 'application/json',
        // every metadata key becomes a header: the mapping sets only zeek-path
        metadata: { exclude_prefixes: [] },
        max_in_flight: RPCONNECT_AMQP_IN_FLIGHT,
      },
    },
  };
}

/** A config as Redpanda Connect reads it: JSON is YAML. */
export const rpconnectConfigText = (config: Record<string, unknown>): string => `${JSON.stringify(config, null, 2)}\n`;

/** rsyslog's private instance: the shared template with the run's port, topic and work folder. */
export function rsyslogConfig(port: number, topic: string, workDir: string, template = join(recipesRoot(), 'rsyslog', 'imczmq-omkafka.conf.in')): string {
  const text = readFileSync(template, 'utf8');
  const out = text.replaceAll('@PORT@', String(port)).replaceAll('@TOPIC@', topic).replaceAll('@WORKDIR@', workDir);
  const left = /@[A-Z]+@/.exec(out);
  if (left) throw new Error(`${template}: placeholder ${left[0]} is not one the benchmark fills in (@PORT@, @TOPIC@, @WORKDIR@)`);
  return out;
}
