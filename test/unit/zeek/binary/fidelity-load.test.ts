// Every record of the two load captures (137,908 each) against the same run's JSON logs
// of the worker and the manager.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLogLines } from '../../../helpers/testdata.js';
import { assertSameLines, decodeCapture } from './captures.js';

// load/README.md, counts per path and sender
const EXPECTED: Record<string, number> = {
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

for (const capture of ['load-a', 'load-a.bigbatch']) {
  test(`load/cluster/${capture}: all 137,908 records equal the worker's and manager's own JSON logs`, () => {
    const decoded = decodeCapture('load', 'cluster', `${capture}.jsonl`);
    assert.deepEqual(Object.fromEntries([...decoded].map(([k, v]) => [k, v.length]).sort()), EXPECTED);
    for (const [key, records] of decoded) {
      const [role, path] = key.split('/') as [string, string];
      const want = readLogLines('load', 'cluster', `${capture}.logs`, `${role}-local-json`, `${path}.log`);
      assertSameLines(records, want, `${capture} ${key}`);
    }
  });
}
