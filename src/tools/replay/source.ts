/**
 * Streams the records of one Zeek log file (TSV or JSON lines, plain or gzip) without
 * ever holding the whole file: bytes → (gunzip) → lines → ZeekLogParser → records.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { checkPath } from '../../ingress/ncsa.js';
import { ZeekLogParser, type LineRejectReason } from '../../zeek/tsv/parser.js';

export type RejectReason = LineRejectReason | 'line-too-long' | 'bad-path';

export interface SourceRecord {
  readonly path: string;
  readonly json: Buffer;
  readonly ts: number | undefined;
}

export interface Rejected {
  readonly file: string;
  readonly line: number;
  readonly reason: RejectReason;
  readonly detail: string;
}

export interface SourceOptions {
  /** Log path for every record (`--path`); else `#path`, else the file name. */
  readonly path?: string | undefined;
  /** Longer lines are rejected and skipped, so one runaway line cannot take all memory. */
  readonly maxLineBytes?: number;
  readonly onReject: (r: Rejected) => void;
  /** Called with the count of file bytes read (compressed bytes for gzip), for progress. */
  readonly onBytes?: (n: number) => void;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** True when the bytes start with the gzip magic (1f 8b): detection never trusts names. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * The log path a file name implies: `conn.log` → `conn`,
 * `conn.2024-01-01-00-00-00.log.gz` and `conn.00:00:00-01:00:00.log.gz` → `conn`.
 * Undefined when nothing usable is left.
 */
export function pathFromFileName(file: string): string | undefined {
  const parts = basename(file).split('.');
  while (parts.length > 1) {
    const last = parts[parts.length - 1]!;
    // Compression and log extensions, and rotation time stamps, are not part of the path.
    if (/^(gz|log|json|jsonl|ndjson|tsv|txt)$/i.test(last) || /^\d[\d:_-]*$/.test(last)) parts.pop();
    else break;
  }
  const path = parts.join('.');
  return typeof checkPath(Buffer.from(path)) === 'string' ? path : undefined;
}

/** Splits a byte stream into lines (without `\n`), never decoding them as text. */
export async function* lines(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number,
  onTooLong: (lineNo: number, bytes: number) => void,
): AsyncGenerator<{ line: Buffer; no: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipping = false; // inside a line that was already too long
  let no = 0;
  for await (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (!skipping) {
        if (pendingBytes + end - from > maxLineBytes) {
          skipping = true;
          onTooLong(no + 1, pendingBytes + end - from);
          pending = [];
          pendingBytes = 0;
        } else if (end > from) {
          pending.push(chunk.subarray(from, end));
          pendingBytes += end - from;
        }
      }
      if (nl < 0) break;
      no++;
      if (!skipping) yield { line: pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes), no };
      pending = [];
      pendingBytes = 0;
      skipping = false;
      from = nl + 1;
    }
  }
  if (pendingBytes > 0 && !skipping) yield { line: pending.length === 1 ? pending[0]! : Buffer.concat(pending), no: no + 1 };
}

/** The file's bytes, gunzipped when they start with the gzip magic. */
async function* fileBytes(file: string, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r');
  let stream: Readable | undefined;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    const raw = fh.createReadStream({ start: 0, highWaterMark: 256 * 1024, autoClose: false });
    stream = raw;
    const gzip = isGzip(head.subarray(0, bytesRead));
    if (gzip) {
      // Progress counts file bytes, not inflated ones; the pipe reads in flowing mode.
      if (onBytes) raw.on('data', (c: Buffer | string) => onBytes(c.length));
      // createGunzip reads concatenated gzip members too (logs appended after rotation).
      const gz = createGunzip();
      raw.on('error', (err) => gz.destroy(err));
      stream = raw.pipe(gz);
    }
    for await (const chunk of stream) {
      if (!gzip) onBytes?.((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  } finally {
    stream?.destroy();
    await fh.close();
  }
}

/**
 * Records of one file, in file order. Bad lines are reported through onReject and
 * skipped; I/O and gzip errors end the file by throwing (the caller reports them).
 */
export async function* readLogFile(file: string, opts: SourceOptions): AsyncGenerator<SourceRecord> {
  const parser = new ZeekLogParser();
  const fromName = pathFromFileName(file);
  const reject = (line: number, reason: RejectReason, detail: string): void => opts.onReject({ file, line, reason, detail });
  let checked: string | undefined; // the last path that passed checkPath
  const tooLong = (line: number, bytes: number): void =>
    reject(line, 'line-too-long', `line longer than ${opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES} bytes (${bytes}+)`);
  for await (const { line, no } of lines(fileBytes(file, opts.onBytes), opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, tooLong)) {
    const r = parser.parseLine(line);
    if (r.kind === 'skip') continue;
    if (r.kind === 'error') {
      reject(no, r.reason, r.detail);
      continue;
    }
    const path = opts.path ?? parser.path ?? fromName;
    if (path === undefined) {
      reject(no, 'bad-path', 'no #path and no log path in the file name (use --path)');
      continue;
    }
    if (path !== checked) {
      if (typeof checkPath(Buffer.from(path)) !== 'string') {
        reject(no, 'bad-path', `unusable log path ${JSON.stringify(path)}`);
        continue;
      }
      checked = path;
    }
    yield { path, json: r.json, ts: r.ts };
  }
}
