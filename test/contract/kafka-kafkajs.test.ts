// The transport contract for Kafka with the kafkajs client.
import { runKafkaContract } from './kafka.js';

await runKafkaContract('kafkajs');
