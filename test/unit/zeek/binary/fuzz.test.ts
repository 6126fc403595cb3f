// Hostile input: 100,000 mutations of real captures must only ever produce known
// rejections or valid JSON, without throwing and with bounded memory.
// Longer runs: node --import tsx scripts/fuzz-decoder.ts <iterations> [seed]
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLogWriteMessage } from '../../../../src/zeek/binary/log-write.js';
import { fuzzDecoder, loadFuzzCorpus } from './fuzz-loop.js';

const ITERATIONS = 100_000;

test(`fuzz: ${ITERATIONS} mutated messages, no throw, known reasons, bounded heap`, () => {
  const corpus = loadFuzzCorpus();
  assert.ok(corpus.length > 200);
  for (const m of corpus) assert.ok(decodeLogWriteMessage(m).ok, 'the unmutated corpus decodes');
  const stats = fuzzDecoder(corpus, ITERATIONS, 0x5eed);
  assert.equal(stats.iterations, ITERATIONS);
  // the mutations reach both the accept path and the main rejection paths
  assert.ok(stats.accepted > ITERATIONS / 20, `accepted ${stats.accepted}`);
  for (const reason of ['frame-count', 'message-type', 'unknown-format', 'truncated', 'bad-length', 'bad-count', 'type-mismatch', 'bad-type'] as const) {
    assert.ok((stats.rejected[reason] ?? 0) > 0, `no '${reason}' rejection in ${JSON.stringify(stats.rejected)}`);
  }
  assert.ok(stats.heapGrowth < 32 * 1024 * 1024, `heap grew by ${stats.heapGrowth} bytes`);
  // output slabs are capped by maxOutputBytes (16 MB here) and released after rejections
  assert.ok(stats.arrayBufferGrowth < 48 * 1024 * 1024, `array buffers grew by ${stats.arrayBufferGrowth} bytes`);
});
