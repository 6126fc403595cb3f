// Public surface of the Zeek cluster log-batch decoder.
export { decodeLogWriteMessage } from './log-write.js';
export { ZeekBinV1Decoder } from './bin-v1.js';
export { formatDouble } from './dtoa.js';
export { formatAddr } from './addr.js';
export { zeekJsonString } from './escape.js';
export {
  TypeTag,
  REJECT_REASONS,
  DEFAULT_LIMITS,
  type ZeekBatch,
  type ZeekField,
  type RejectReason,
  type Rejection,
  type BatchResult,
  type LogWriteResult,
  type TimestampMode,
  type RenderOptions,
  type DecodeLimits,
  type DecodeOptions,
} from './types.js';
