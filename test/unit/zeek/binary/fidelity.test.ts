// The decoder against Zeek's own output: for each capture, the worker's records must
// equal the lines the worker wrote itself with LogAscii::use_json=T, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PCAPS, readLogLines } from '../../../helpers/testdata.js';
import { assertSameLines, decodeCapture } from './captures.js';

for (const pcap of PCAPS) {
  test(`cluster/${pcap}: worker records equal worker-local-json, path by path`, () => {
    const decoded = decodeCapture('cluster', `${pcap}.jsonl`);
    let paths = 0;
    for (const [key, records] of decoded) {
      const [role, path] = key.split('/') as [string, string];
      if (role === 'worker') {
        assertSameLines(records, readLogLines('cluster', `${pcap}.logs`, 'worker-local-json', `${path}.log`), `${pcap} ${path}`);
        paths++;
      } else {
        // manager logs (reporter, cluster) have no ground truth here: they must decode
        // to JSON objects with the fields Zeek writes for them
        for (const line of records) assert.equal(typeof (JSON.parse(line) as { ts: unknown }).ts, 'number', line);
      }
    }
    assert.ok(paths >= 4, `${pcap}: ${paths} worker paths`);
    assert.ok([...decoded.keys()].some((k) => k.startsWith('manager/')), 'manager messages decoded');
  });
}

test('non-printable characters: the 0x07 byte and the UTF-8 emoji as Zeek writes them', () => {
  const http = decodeCapture('cluster', 'http-non-printable-characters.jsonl').get('worker/http')!;
  assert.ok(http.some((l) => l.includes('"uri":"/non_printable_\\\\x07"')));
  assert.ok(http.some((l) => l.includes('"uri":"/printable_😄"')));
});

test('CURVE capture (a separate run): decodes, with per-path counts equal to the plain capture', () => {
  const counts = (m: Map<string, string[]>): Record<string, number> =>
    Object.fromEntries([...m].map(([k, v]) => [k, v.length]).sort(([a], [b]) => String(a).localeCompare(String(b))));
  const curve = decodeCapture('cluster', 'http-non-printable-characters.curve.jsonl');
  const plain = decodeCapture('cluster', 'http-non-printable-characters.jsonl');
  assert.deepEqual(counts(curve), counts(plain));
  assert.equal(curve.get('worker/http')!.length, 4);
  // same traffic, different run: equal apart from uids/fuids
  const strip = (l: string): string => l.replace(/"(C|F)[A-Za-z0-9]{14,17}"/g, '"ID"');
  assert.deepEqual(curve.get('worker/http')!.map(strip), plain.get('worker/http')!.map(strip));
});
