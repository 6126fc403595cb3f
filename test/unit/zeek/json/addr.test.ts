import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../../helpers/mutate.js';
import { formatAddr } from '../../../../src/zeek/json/addr.js';

/** 8 groups to 16 bytes. */
function v6(groups: readonly number[]): Uint8Array {
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

test('spec §6.6 table (zeek_inet_ntop6)', () => {
  const rows: [number[], string][] = [
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'],
    [[0, 0, 0, 0, 0, 0, 0x0102, 0x0304], '::1.2.3.4'],
    [[0, 0, 0, 0, 0, 0, 0, 0x0102], '::102'],
    [[0, 0, 0, 0, 0xffff, 0, 0, 1], '::ffff:0:0.0.0.1'],
    [[0xfe80, 0, 0, 0, 0, 0, 0, 0], 'fe80::'],
    [[1, 0, 2, 3, 4, 5, 6, 7], '1:0:2:3:4:5:6:7'],
  ];
  for (const [groups, want] of rows) assert.equal(formatAddr(v6(groups)), want, want);
});

test('embedded IPv4 forms and the all-zero / loopback cases', () => {
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0, 0, 0, 0])), '::');
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0, 0, 0, 1])), '::1');
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001])), '::ffff:10.0.0.1');
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0, 0xfffe, 0x0a00, 0x0001])), '::fffe:a00:1');
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0xffff, 0, 0xc0a8, 0x0101])), '::ffff:0:192.168.1.1');
  assert.equal(formatAddr(v6([0, 0, 0, 0, 0, 0, 0xffff, 0xffff])), '::255.255.255.255');
  assert.equal(formatAddr(v6([0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff])), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  assert.equal(formatAddr(v6([0xfe80, 0, 0, 0, 0x0202, 0xb3ff, 0xfe1e, 0x8329])), 'fe80::202:b3ff:fe1e:8329');
});

test('IPv4 dotted quad', () => {
  assert.equal(formatAddr(Uint8Array.from([10, 0, 0, 1])), '10.0.0.1');
  assert.equal(formatAddr(Uint8Array.from([255, 255, 255, 255])), '255.255.255.255');
  assert.equal(formatAddr(Uint8Array.from([0, 0, 0, 0])), '0.0.0.0');
  assert.equal(formatAddr(Uint8Array.from([192, 168, 100, 9])), '192.168.100.9');
});

test('without embedded IPv4, equals the WHATWG URL serializer (also first longest run)', () => {
  const next = makeRng(12345).u32;
  let compared = 0;
  for (let i = 0; i < 20000; i++) {
    // zero-heavy groups so that runs and ties are common
    const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() & 0xffff : 0));
    const embedded =
      groups.slice(0, 4).every((g) => g === 0) &&
      ((groups[4] === 0 && groups[5] === 0 && groups[6] !== 0) ||
        (groups[4] === 0 && groups[5] === 0xffff) ||
        (groups[4] === 0xffff && groups[5] === 0));
    if (embedded) continue;
    const full = groups.map((g) => g.toString(16)).join(':');
    assert.equal(formatAddr(v6(groups)), new URL(`http://[${full}]/`).hostname.slice(1, -1), full);
    compared++;
  }
  assert.ok(compared > 15000);
});
