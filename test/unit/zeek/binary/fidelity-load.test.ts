// Every record of the two load captures (137,908 each) against the same run's JSON logs
// of the worker and the manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOAD_CLUSTER_RECORDS, readLogLines } from '../../../helpers/testdata.js';
import { assertSameLines, decodeCapture } from './captures.js';


for (const capture of ['load-a', 'load-a.bigbatch']) {
  test(`load/cluster/${capture}: all 137,908 records equal the worker's and manager's own JSON logs`, () => {
    const decoded = decodeCapture('load', 'cluster', `${capture}.jsonl`);
    assert.deepEqual(Object.fromEntries([...decoded].map(([k, v]) => [k, v.length]).sort()), LOAD_CLUSTER_RECORDS);
    for (const [key, records] of decoded) {
      const [role, path] = key.split('/') as [string, string];
      const want = readLogLines('load', 'cluster', `${capture}.logs`, `${role}-local-json`, `${path}.log`);
      assertSameLines(records, want, `${capture} ${key}`);
    }
  });
}
