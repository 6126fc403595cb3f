// Long fuzz run of the Zeek cluster log-batch decoder (the CI test runs 100,000).
// Usage: node --import tsx scripts/fuzz-decoder.ts [iterations=5000000] [seed=random]
// A failure prints the seed, iteration and mutation ops, so it can be replayed.
import { fuzzDecoder, loadFuzzCorpus } from '../test/unit/zeek/binary/fuzz-loop.js';

const iterations = Number(process.argv[2] ?? 5_000_000);
const seed = process.argv[3] !== undefined ? Number(process.argv[3]) : Math.floor(Math.random() * 2 ** 32);
if (!Number.isSafeInteger(iterations) || iterations <= 0 || !Number.isFinite(seed)) {
  console.error('usage: node --import tsx scripts/fuzz-decoder.ts [iterations] [seed]');
  process.exit(2);
}

const corpus = loadFuzzCorpus();
console.log(`fuzzing ${iterations} iterations, seed ${seed}, corpus ${corpus.length} messages`);
const started = performance.now();
try {
  const stats = fuzzDecoder(corpus, iterations, seed, (s) => {
    const rate = s.iterations / ((performance.now() - started) / 1000);
    const mb = (n: number): string => (n / 1e6).toFixed(1);
    console.log(`${s.iterations} done, ${s.accepted} accepted, heap +${mb(s.heapGrowth)} MB, buffers +${mb(s.arrayBufferGrowth)} MB, ${rate.toFixed(0)}/s`);
  });
  console.log(JSON.stringify(stats, null, 2));
  console.log(`ok in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
