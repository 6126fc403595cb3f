// What Kafka takes as an address: a legal topic name (the message key is free-form bytes).
import type { Address } from '../../record.js';
import { TOPIC_NAME } from './options.js';

/** Why Kafka cannot take this address, or undefined. The broker would refuse the topic on every retry. */
export function kafkaAddressProblem(address: Address): string | undefined {
  const topic = address.target;
  if (TOPIC_NAME.test(topic)) return undefined;
  const shown = topic.length > 60 ? `${JSON.stringify(topic.slice(0, 60))}...` : JSON.stringify(topic);
  return `topic ${shown} is not a legal Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, not "." or "..")`;
}
