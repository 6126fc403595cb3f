// The contract subject for the Kafka transports: one per client (kafka-<client>.test.ts).
import { kafkaKind } from '../../src/sinks/kafka/index.js';
import { defaultKafkaOptions, type KafkaClient } from '../../src/sinks/kafka/options.js';
import { silentLogger } from '../../src/ops/log.js';
import { KAFKA_BROKERS, collectKafka, createKafkaTopics, kafkaKill, kafkaStart, requireKafka, uniqueName } from '../helpers/brokers.js';
import { freePort } from '../helpers/gateway.js';
import { contractBatch, runTransportContract, type ContractDestination } from './suite.js';

/** Runs the transport contract for the Kafka transport with `client`. */
export async function runKafkaContract(client: KafkaClient): Promise<void> {
  await requireKafka();
  const nothingListens = await freePort();
  const create = await kafkaKind.load({ ...defaultKafkaOptions(), client });
  // One partition: order is kept per partition.
  const topic = async (settings: Record<string, string> = {}): Promise<ContractDestination> => {
    const name = uniqueName(`contract-${client}`);
    await createKafkaTopics([name], 1, {}, settings);
    return {
      address: { target: name },
      read: async (count, timeoutMs) => (await collectKafka(name, { count, timeoutMs })).map((r) => r.value?.toString() ?? ''),
    };
  };
  runTransportContract(`kafka (${client})`, {
    hasBroker: true,
    // sendTimeoutMs below, plus a reconnect attempt.
    settleBoundMs: 12_000,
    create: ({ name, unreachable, failFast }) => {
      const o = {
        ...defaultKafkaOptions(),
        client,
        brokers: unreachable ? [`127.0.0.1:${nothingListens}`] : KAFKA_BROKERS,
        failFast: failFast ?? false,
        connectionTimeoutMs: 2000,
        requestTimeoutMs: 5000,
        sendTimeoutMs: 8000,
        retry: unreachable ? { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } : { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 },
        reconnectIntervalMs: 500,
      };
      return create(o, { name, logger: silentLogger() });
    },
    destination: () => topic(),
    // A record larger than the topic allows (max.message.bytes 4 kB).
    async refusal() {
      const dest = await topic({ 'max.message.bytes': '4096' });
      const [a, , c] = contractBatch(dest, 3);
      const [big] = contractBatch(dest, 1, 1, 10_000);
      return { dest, batch: [a!, big!, c!], refused: [[big!.payload.toString(), 'message_too_large']] };
    },
    // Kafka has no way to close one client's connections: the broker is killed and started again.
    async breakConnection() {
      await kafkaKill();
      return { restore: kafkaStart };
    },
  });
}
