// Shared by the fidelity tests: decode whole captures, compare with Zeek's own lines.
import assert from 'node:assert/strict';
import { ZeekBinV1Decoder } from '../../../../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../../../../src/zeek/binary/log-write.js';
import { loadCapture } from '../../../helpers/testdata.js';

/** Decodes every message of a capture; returns records grouped by sender role and path. */
export function decodeCapture(...parts: string[]): Map<string, string[]> {
  return decodeCaptureWith(new ZeekBinV1Decoder(), ...parts);
}

/** {@link decodeCapture} with a given decoder (e.g. one that renames fields). */
export function decodeCaptureWith(decoder: ZeekBinV1Decoder, ...parts: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const frames of loadCapture(...parts)) {
    const r = decodeLogWriteMessage(frames, {}, decoder);
    if (!r.ok) assert.fail(`${parts.join('/')}: ${r.reason}: ${r.detail}`);
    assert.equal(r.batch.trailingBytes, 0);
    assert.equal(r.batch.writer, 'Log::WRITER_ASCII');
    const role = r.sender.includes('worker-1') ? 'worker' : r.sender.includes('manager') ? 'manager' : assert.fail(r.sender);
    const key = `${role}/${r.batch.path}`;
    const list = out.get(key) ?? [];
    for (const rec of r.batch.records) list.push(rec.toString('utf8'));
    out.set(key, list);
  }
  return out;
}

/** Compares record lists line by line, reporting the first difference. */
export function assertSameLines(got: readonly string[], want: readonly string[], what: string): void {
  assert.equal(got.length, want.length, `${what}: record count`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.fail(`${what} line ${i + 1}\n got: ${got[i]}\nwant: ${want[i]}`);
  }
}
