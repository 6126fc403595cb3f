/**
 * Validates a Zeek cluster log-write message (§3: `log-write` | sender | format | payload)
 * and decodes its batch. Frame 1 is only metadata: node ids may contain `_`, so it is
 * kept as a string and never parsed.
 */
import { ZeekBinV1Decoder } from './bin-v1.js';
import type { DecodeOptions, LogWriteResult } from '../types.js';

const MESSAGE_TYPE = Buffer.from('log-write');
/** The only log serializer in Zeek 8.2 (`Cluster::LOG_SERIALIZER_ZEEK_BIN_V1`). */
const FORMAT = Buffer.from('zeek-bin-serializer');
/** Longest text quoted back from a bad frame in a rejection detail. */
const DETAIL_BYTES = 40;

function quote(frame: Buffer): string {
  return JSON.stringify(frame.toString('latin1', 0, DETAIL_BYTES)) + (frame.length > DETAIL_BYTES ? '...' : '');
}

let shared: ZeekBinV1Decoder | undefined;

/**
 * Decodes one multipart message. Never throws for bad input: every problem comes back
 * as `{ok: false, reason, detail}`. Pass a decoder to keep its schema cache and output
 * buffer per ingress; by default a module-wide one is used.
 */
export function decodeLogWriteMessage(
  frames: readonly Buffer[],
  opts: DecodeOptions = {},
  decoder: ZeekBinV1Decoder = (shared ??= new ZeekBinV1Decoder()),
): LogWriteResult {
  if (frames.length !== 4) {
    return { ok: false, reason: 'frame-count', detail: `expected 4 frames, got ${frames.length}` };
  }
  const [type, sender, format, payload] = frames as [Buffer, Buffer, Buffer, Buffer];
  if (!type.equals(MESSAGE_TYPE)) {
    return { ok: false, reason: 'message-type', detail: `frame 0 is ${quote(type)}, not "log-write"` };
  }
  if (!format.equals(FORMAT)) {
    return { ok: false, reason: 'unknown-format', detail: `frame 2 is ${quote(format)}, not "zeek-bin-serializer"` };
  }
  const result = decoder.decode(payload, opts);
  if (!result.ok) return result;
  return { ok: true, sender: sender.toString('utf8'), batch: result.batch };
}
