import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateNcsaMessage } from '../../../src/ingress/ncsa.js';
import { loadCapture, PCAPS } from '../../helpers/testdata.js';

const b = (s: string): Buffer => Buffer.from(s);

test('every real NCSA capture message is accepted, in both validation modes', () => {
  let n = 0;
  for (const p of PCAPS) {
    for (const frames of loadCapture('ncsa', `${p}.jsonl`)) {
      for (const mode of ['structural', 'full'] as const) {
        const r = validateNcsaMessage(frames, mode, 1 << 20);
        assert.deepEqual(r, { ok: true, path: frames[0]!.toString() });
      }
      n++;
    }
  }
  assert.equal(n, 3 + 83 + 20 + 13 + 17 + 15);
});

test('bad messages are rejected with the right reason', () => {
  const cases: Array<[Buffer[], string]> = [
    [[b('conn')], 'frame-count'],
    [[b('conn'), b('{}'), b('{}')], 'frame-count'],
    [[b(''), b('{}')], 'empty-path'],
    [[Buffer.alloc(256, 0x61), b('{}')], 'path-too-long'],
    [[b('co nn'), b('{}')], 'path-not-printable'],
    [[Buffer.from([0x63, 0x00]), b('{}')], 'path-not-printable'],
    [[b('conn'), b('[1,2]')], 'body-not-object'],
    [[b('conn'), b('{"ts":1.0')], 'body-not-object'],
    [[b('conn'), b('')], 'body-not-object'],
    [[b('conn'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d])], 'body-not-utf8'],
    [[b('conn'), Buffer.alloc(2000, 0x20)], 'too-large'],
  ];
  for (const [frames, reason] of cases) {
    const r = validateNcsaMessage(frames, 'structural', 1000);
    assert.equal(r.ok, false, `expected rejection ${reason}`);
    if (!r.ok) assert.equal(r.reason, reason);
  }
});

test('full validation catches what the structural check lets through', () => {
  const body = b('{"ts":}');
  assert.equal(validateNcsaMessage([b('conn'), body], 'structural', 1000).ok, true);
  const r = validateNcsaMessage([b('conn'), body], 'full', 1000);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.reason, 'body-invalid-json');
});
