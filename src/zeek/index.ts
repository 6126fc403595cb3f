// Public surface of the Zeek cluster log-batch decoder.
export { decodeLogWriteMessage } from './binary/log-write.js';
export { ZeekBinV1Decoder } from './binary/bin-v1.js';
export { formatDouble } from './json/dtoa.js';
export { formatAddr } from './json/addr.js';
export { zeekJsonString } from './json/escape.js';
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
