// What RabbitMQ takes as an address: exchange names and routing keys are AMQP short strings.
import type { Address } from '../../record.js';

/** AMQP 0-9-1 short strings (exchange, routing key) hold at most 255 bytes of UTF-8. */
export const MAX_SHORT_STRING_BYTES = 255;

/** Why RabbitMQ cannot take this address, or undefined. amqplib would fail the whole batch on it, every retry. */
export function amqpAddressProblem(address: Address): string | undefined {
  const exchange = shortStringProblem('exchange name', address.target);
  if (exchange !== undefined) return exchange;
  return address.routingKey === undefined ? undefined : shortStringProblem('routing key', address.routingKey);
}

function shortStringProblem(what: string, s: string): string | undefined {
  // UTF-16 code units take at most 3 bytes of UTF-8 each: short strings need no count.
  if (s.length * 3 <= MAX_SHORT_STRING_BYTES) return undefined;
  const bytes = Buffer.byteLength(s);
  return bytes > MAX_SHORT_STRING_BYTES ? `${what} of ${bytes} bytes exceeds ${MAX_SHORT_STRING_BYTES}` : undefined;
}
