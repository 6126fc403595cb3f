// The benchmark report's targets (bench/lib/results.ts): each row judged from its run's own figure,
// `null` when the run failed or lacks it; issue 13's rows for the default client. (Speeds are never
// asserted here: these are synthetic results.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateTargets, type ScenarioResult } from '../../../bench/lib/results.js';

function run(id: string, figures: Partial<ScenarioResult>): ScenarioResult {
  return { id, kind: 'gateway', title: id, dataset: 'ncsa', sinks: ['kafka'], mode: 'max', records: 1, jsonBytes: 1, verification: [], ...figures };
}

const pass = (rows: ReturnType<typeof evaluateTargets>, name: string): boolean | null | undefined => rows.find((t) => t.name === name)?.pass;

test('issue 13 rows: NCSA share and CPU, cluster rates, peak RSS, each against its own bound', () => {
  const rows = evaluateTargets([
    run('ncsa-platformatic', { recordsPerSec: 80_000, ceiling: { ids: [], recordsPerSec: 100_000 }, ratio: 0.8, cpuSecondsPerMillion: 12.1, peakRssMB: 99 }),
    run('cluster-platformatic', { recordsPerSec: 149_999, peakRssMB: 101 }),
    run('cluster-platformatic-ndjson', { recordsPerSec: 300_000 }),
  ]);
  assert.equal(pass(rows, 'ncsa-platformatic ≥ 80% of the bare client (issue 13)'), true);
  assert.equal(rows.find((t) => t.name === 'ncsa-platformatic ≥ 80% of the bare client (issue 13)')?.value, '80.0% (80,000 of 100,000 rec/s)');
  assert.equal(pass(rows, 'ncsa-platformatic ≤ 12 CPU-µs per record (issue 13)'), false);
  assert.equal(pass(rows, 'cluster-platformatic ≥ 150,000 records/s (issue 13)'), false);
  assert.equal(pass(rows, 'cluster-platformatic-ndjson ≥ 300,000 records/s (issue 13)'), true);
  assert.equal(pass(rows, 'ncsa-platformatic: peak RSS (VmHWM) ≤ 100 MB at maximum rate (issue 13)'), true);
  assert.equal(pass(rows, 'cluster-platformatic: peak RSS (VmHWM) ≤ 100 MB at maximum rate (issue 13)'), false);
  // The older targets stay beside them.
  assert.equal(pass(rows, 'ncsa-platformatic ≥ 90% of the lower of its two ceilings'), false);
  assert.equal(pass(rows, 'cluster-platformatic ≥ 200,000 records/s'), false);
});

test('a failed run or a missing figure is not measured, never a pass or a fail', () => {
  const rows = evaluateTargets([run('ncsa-platformatic', { ratio: 0.95, cpuSecondsPerMillion: 5, error: 'gateway exited' }), run('cluster-platformatic', {})]);
  const issue13 = rows.filter((t) => t.name.includes('issue 13'));
  assert.equal(issue13.length, 5);
  for (const t of issue13) {
    assert.equal(t.pass, null, t.name);
    assert.equal(t.value, 'n/a');
  }
});
