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
  | PathRejectReason
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
  // The length first: a huge path frame is not worth a string.
  if (frame.length > MAX_PATH_BYTES) return pathTooLong(frame.length);
  const path = frame.toString('latin1');
  return pathProblem(path) ?? path;
}

/**
 * Why `path` is not a Zeek log path, or undefined when it is one: the check of the SUB ingress's
 * path frame, and of the path in a cluster batch's header (both end up in routing keys, topic
 * names and metric labels).
 */
export function pathProblem(path: string): { ok: false; reason: PathRejectReason; detail: string } | undefined {
  if (path.length === 0) return { ok: false, reason: 'empty-path', detail: 'empty log path' };
  if (path.length > MAX_PATH_BYTES) return pathTooLong(Buffer.byteLength(path));
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      const what = c <= 0xff ? `byte 0x${c.toString(16).padStart(2, '0')}` : `character U+${c.toString(16).padStart(4, '0')}`;
      return { ok: false, reason: 'path-not-printable', detail: `log path has ${what} at ${i}` };
    }
  }
  return undefined;
}

export type PathRejectReason = 'empty-path' | 'path-too-long' | 'path-not-printable';

function pathTooLong(bytes: number): { ok: false; reason: 'path-too-long'; detail: string } {
  return { ok: false, reason: 'path-too-long', detail: `log path of ${bytes} bytes exceeds ${MAX_PATH_BYTES}` };
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
