import { isUtf8 } from 'node:buffer';
import type { MessageHandler } from './zmq-ingress.js';

/**
 * The NCSA ZeroMQ writer plugin's message: exactly two frames, `[log path, JSON record]`.
 * Validation is cheap by default (the hot path): frame count, a printable path, and a
 * body that is UTF-8 with an object's outer braces. `full` also parses the JSON, for
 * networks where the senders are not trusted.
 */
export type NcsaRejectReason =
  | 'frame-count'
  | 'empty-path'
  | 'path-too-long'
  | 'path-not-printable'
  | 'too-large'
  | 'body-not-object'
  | 'body-not-utf8'
  | 'body-invalid-json';

export type NcsaValidation = 'structural' | 'full';

export type NcsaResult = { ok: true; path: string } | { ok: false; reason: NcsaRejectReason; detail: string };

export const MAX_PATH_BYTES = 255;

export function validateNcsaMessage(frames: readonly Buffer[], validation: NcsaValidation, maxBodyBytes: number): NcsaResult {
  if (frames.length !== 2) return { ok: false, reason: 'frame-count', detail: `expected 2 frames, got ${frames.length}` };
  const [pathFrame, body] = frames as [Buffer, Buffer];
  const path = checkPath(pathFrame);
  if (typeof path !== 'string') return path;
  if (body.length > maxBodyBytes) {
    return { ok: false, reason: 'too-large', detail: `record of ${body.length} bytes exceeds ${maxBodyBytes}` };
  }
  if (!looksLikeObject(body)) return { ok: false, reason: 'body-not-object', detail: 'record is not a JSON object' };
  if (!isUtf8(body)) return { ok: false, reason: 'body-not-utf8', detail: 'record is not valid UTF-8' };
  if (validation === 'full') {
    try {
      const v: unknown = JSON.parse(body.toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        return { ok: false, reason: 'body-not-object', detail: 'record is not a JSON object' };
      }
    } catch (err) {
      return { ok: false, reason: 'body-invalid-json', detail: (err as Error).message };
    }
  }
  return { ok: true, path };
}

/** A Zeek log path: 1 to 255 printable ASCII bytes, no spaces. */
export function checkPath(frame: Buffer): string | { ok: false; reason: NcsaRejectReason; detail: string } {
  if (frame.length === 0) return { ok: false, reason: 'empty-path', detail: 'empty log path' };
  if (frame.length > MAX_PATH_BYTES) {
    return { ok: false, reason: 'path-too-long', detail: `log path of ${frame.length} bytes exceeds ${MAX_PATH_BYTES}` };
  }
  for (let i = 0; i < frame.length; i++) {
    const c = frame[i] as number;
    if (c < 0x21 || c > 0x7e) {
      return { ok: false, reason: 'path-not-printable', detail: `log path has byte 0x${c.toString(16).padStart(2, '0')} at ${i}` };
    }
  }
  return frame.toString('latin1');
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function looksLikeObject(body: Buffer): boolean {
  let start = 0;
  let end = body.length - 1;
  while (start <= end && isSpace(body[start])) start++;
  while (end > start && isSpace(body[end])) end--;
  return end > start && body[start] === 0x7b && body[end] === 0x7d;
}

/** Receives NCSA messages (SUB, or PULL in `ncsa` format) and routes each record. */
export function ncsaHandler(ingress: string, validation: NcsaValidation, maxBodyBytes: number): MessageHandler {
  return (frames, receivedAt, sink) => {
    const r = validateNcsaMessage(frames, validation, maxBodyBytes);
    if (!r.ok) {
      sink.reject(r.reason, r.detail);
      return;
    }
    sink.accepted(r.path, undefined, 1);
    sink.route({ path: r.path, json: frames[1] as Buffer, ingress, receivedAt });
  };
}
