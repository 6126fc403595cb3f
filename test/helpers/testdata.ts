// Locates the shared Zeek captures; tests read them in place, never copy them.
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';

/** Root of the shared Zeek test data; override with ZLG_TESTDATA. */
export const TESTDATA = resolve(process.env.ZLG_TESTDATA ?? join(process.cwd(), '..', 'shared', 'testdata', 'zeek'));

export function testdataPath(...parts: string[]): string {
  return join(TESTDATA, ...parts);
}

/** Reads a file, transparently gunzipping a `.gz` sibling when the plain file is absent. */
export function readTestFile(...parts: string[]): Buffer {
  const p = testdataPath(...parts);
  if (existsSync(p)) return readFileSync(p);
  if (existsSync(p + '.gz')) return gunzipSync(readFileSync(p + '.gz'));
  throw new Error(`test data not found: ${p} (set ZLG_TESTDATA to the shared testdata/zeek folder)`);
}

/** A capture: one ZeroMQ multipart message per line, frames base64-encoded. */
export function loadCapture(...parts: string[]): Buffer[][] {
  const text = readTestFile(...parts).toString('utf8');
  const out: Buffer[][] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const { frames_b64 } = JSON.parse(line) as { frames_b64: string[] };
    out.push(frames_b64.map((f) => Buffer.from(f, 'base64')));
  }
  return out;
}

/** The six small pcaps every capture set covers. */
export const PCAPS = [
  'ssh_kex_curve25519',
  'wikipedia',
  'smtp',
  'http-non-printable-characters',
  'ipv6-http-atomic-frag',
  'globus-url-copy-bad-encoding',
] as const;

/** Lines of a Zeek log file (JSON or TSV), without the trailing empty line. */
export function readLogLines(...parts: string[]): string[] {
  const text = readTestFile(...parts).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Records per sender role and path in each cluster load capture (load/README.md, counts per path and sender). */
export const LOAD_CLUSTER_RECORDS: Readonly<Record<string, number>> = {
  'manager/cluster': 2,
  'manager/reporter': 1,
  'worker/cluster': 1,
  'worker/conn': 63000,
  'worker/dns': 30000,
  'worker/files': 21331,
  'worker/http': 20553,
  'worker/ntp': 3018,
  'worker/packet_filter': 1,
  'worker/reporter': 1,
};
