// Renaming at write time (the scope separator and field-name map of the emulated
// logger) against the same renaming done on Zeek's own lines by the route rewriter:
// two independent implementations must agree byte for byte on every capture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeekBinV1Decoder } from '../../../../src/zeek/binary/bin-v1.js';
import { KeyRewriter } from '../../../../src/routing/rewrite-keys.js';
import { PCAPS, readLogLines } from '../../../helpers/testdata.js';
import { assertSameLines, decodeCaptureWith } from './captures.js';

const naming = { scopeSeparator: '_', fieldNameMap: { id_orig_h: 'src_ip', id_resp_h: 'dest_ip', 'odd"name': 'x' } };

for (const pcap of PCAPS) {
  test(`cluster/${pcap}: renamed keys at write equal Zeek's lines with keys rewritten`, () => {
    const decoded = decodeCaptureWith(new ZeekBinV1Decoder(undefined, naming), 'cluster', `${pcap}.jsonl`);
    const rewriter = new KeyRewriter(naming);
    let renamed = 0;
    for (const [key, records] of decoded) {
      const [role, path] = key.split('/') as [string, string];
      if (role !== 'worker') continue;
      const want = readLogLines('cluster', `${pcap}.logs`, 'worker-local-json', `${path}.log`).map((l) => rewriter.rewrite(Buffer.from(l)).toString());
      assertSameLines(records, want, `${pcap} ${path}`);
      renamed += records.filter((r) => r.includes('"src_ip":')).length;
    }
    if (pcap !== 'globus-url-copy-bad-encoding') assert.ok(renamed > 0, 'conn records carry src_ip');
  });
}

test('no renaming options: the key table is the default one', () => {
  const plain = decodeCaptureWith(new ZeekBinV1Decoder(undefined, { scopeSeparator: '.', fieldNameMap: {} }), 'cluster', 'smtp.jsonl');
  assert.ok(plain.get('worker/conn')!.every((l) => l.includes('"id.orig_h":')));
});
