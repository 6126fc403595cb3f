// The transport contract for Kafka with the @platformatic/kafka client (the default).
import { runKafkaContract } from './kafka.js';

await runKafkaContract('platformatic');
