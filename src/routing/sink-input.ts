import type { OutboundMessage } from '../record.js';
import type { EnvelopeMemory } from './envelope.js';

/**
 * What routing needs of a sink (the buffer stage implements it): it takes messages and,
 * when it makes the ingress wait instead of dropping (whenFull: block), says when it is full.
 */
export interface SinkInput {
  /** True when a full sink holds the ingress back (whenFull: block). */
  readonly blocking: boolean;
  /** The sink's own memory: envelopes and keys are written into it, so held records pin nothing else. */
  readonly memory: EnvelopeMemory;
  offer(message: OutboundMessage): void;
  isFull(): boolean;
  /** Resolves when the sink has room again. */
  whenWritable(): Promise<void>;
}
