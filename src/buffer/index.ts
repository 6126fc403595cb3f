// The buffer stage: each sink's bounded buffer (in memory, or spooled to disk) with its
// when-full policy, retries and metrics, in front of the sink's transport.
export { BufferedSink, type BufferedSinkDeps, type RejectHandler } from './buffered-sink.js';
export { HeldMemory } from './held-memory.js';
export { HeldRecord } from '../record.js';
export { bufferSchema, type BufferOptions, type WhenFull } from './options.js';
export type { Batch, MessageStore } from './store.js';
export { MemoryStore } from './memory-store.js';
export { HandedOverStore } from './handed-over-store.js';
export {
  SpoolStore,
  spoolOptionsFor,
  spoolProblems,
  spoolSchema,
  type FsyncPolicy,
  type SpoolConfig,
  type SpoolDamage,
  type SpoolOptions,
} from './spool/store.js';
export { openSpool } from './spool/open.js';
export { recordBacklog, removeDelivered, sameDirectory, withBacklog } from './spool/backlog.js';
