import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterHandler, type PullIngressConfig } from '../../../src/ingress/zmq-pull.js';
import type { IngressSink } from '../../../src/ingress/zmq-ingress.js';
import type { LogRecord } from '../../../src/record.js';
import { Wire, logWriteFrames } from '../zeek/binary/encode.js';

const config: PullIngressConfig = {
  enabled: true,
  endpoints: [],
  format: 'zeek',
  receiveHighWaterMark: 1000,
  maxMessageSize: 1 << 24,
  writers: ['Log::WRITER_ASCII'],
  json: { timestamps: 'epoch', includeUnsetFields: false, scopeSeparator: '.', fieldNameMap: {} },
  validation: 'structural',
};

/** Runs one cluster message through the PULL ingress's handler. */
function handle(frames: Buffer[]): { routed: LogRecord[]; rejected: Array<[string, string]> } {
  const routed: LogRecord[] = [];
  const rejected: Array<[string, string]> = [];
  const sink: IngressSink = { route: (r) => void routed.push(r), reject: (reason, detail) => void rejected.push([reason, detail]), accepted() {} };
  clusterHandler('pull', config)(frames, 0, sink);
  return { routed, rejected };
}

const batch = (path: string | Uint8Array): Buffer[] =>
  logWriteFrames(new Wire().header(path as string).u32(1).field('n', 3).u32(2).count(1n).count(2n).build());

test('cluster batches are checked like NCSA paths: printable, 1 to 255 bytes', () => {
  const ok = handle(batch('dns-2'));
  assert.deepEqual(ok.rejected, []);
  assert.deepEqual(
    ok.routed.map((r) => [r.path, r.json.toString()]),
    [
      ['dns-2', '{"n":1}'],
      ['dns-2', '{"n":2}'],
    ],
  );
  assert.equal(handle(batch('p'.repeat(255))).routed.length, 2);

  const cases: Array<[string | Uint8Array, string]> = [
    ['', 'empty-path'],
    ['p'.repeat(256), 'path-too-long'],
    ['x'.repeat(300), 'path-too-long'],
    ['conn log', 'path-not-printable'],
    ['conn\n', 'path-not-printable'],
    ['c\u0000', 'path-not-printable'],
    ['cönn', 'path-not-printable'],
    [Buffer.from([0x63, 0xff, 0x6e]), 'path-not-printable'],
  ];
  for (const [path, reason] of cases) {
    const r = handle(batch(path));
    assert.deepEqual(r.routed, [], `${JSON.stringify(path.toString())} must not be routed`);
    assert.deepEqual(r.rejected.map(([why]) => why), [reason], JSON.stringify(path.toString()));
    assert.match(r.rejected[0]![1], /batch of 2 records/);
  }
});

test('a cluster batch whose schema has no fields is rejected, not routed as thousands of {}', () => {
  const r = handle(logWriteFrames(new Wire().header('conn').u32(0).u32(100_000).build()));
  assert.deepEqual(r.routed.length, 0);
  assert.deepEqual(r.rejected.map(([why]) => why), ['no-fields']);
});
