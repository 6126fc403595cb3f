// The transport contract for Kafka with the librdkafka client (node-rdkafka).
import { runKafkaContract } from './kafka.js';

await runKafkaContract('librdkafka');
