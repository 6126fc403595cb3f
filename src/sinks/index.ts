// The sink kinds the gateway knows. A new kind lives in its own folder (options, address
// keys, transport, an index.ts exporting its SinkKind) and is registered here, one line.
import type { SinkKind } from './kind.js';
import { amqpKind } from './amqp/index.js';
import { consoleKind } from './console/index.js';
import { kafkaKind } from './kafka/index.js';

const KINDS = [amqpKind, kafkaKind, consoleKind];

/** Every sink kind the gateway knows, by its `type` name. */
export const SINK_KINDS: ReadonlyMap<string, SinkKind<never>> = new Map<string, SinkKind<never>>(
  KINDS.map((k) => [k.kind, k as unknown as SinkKind<never>]),
);

export type { SinkKind, TransportFactory } from './kind.js';
