import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeBuilder } from '../../../src/routing/envelope.js';
import { FieldExtractor } from '../../../src/routing/extract-field.js';
import { loadCapture, PCAPS } from '../../helpers/testdata.js';

const allNcsa = PCAPS.flatMap((p) => loadCapture('ncsa', `${p}.jsonl`));

test('tagged envelope wraps every real record as {"<path>": <record>} with the record bytes unchanged', () => {
  assert.ok(allNcsa.length > 100);
  for (const [pathFrame, body] of allNcsa) {
    const path = pathFrame!.toString();
    const out = new EnvelopeBuilder('tagged', path).build(body!);
    const parsed = JSON.parse(out.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), [path]);
    assert.deepEqual(parsed[path], JSON.parse(body!.toString()));
    // Byte-exact: the record appears verbatim inside the envelope.
    assert.equal(out.subarray(out.length - 1 - body!.length, out.length - 1).compare(body!), 0);
  }
});

test('tagged envelope JSON-escapes the path', () => {
  const out = new EnvelopeBuilder('tagged', 'we"ird\\path').build(Buffer.from('{"a":1}'));
  assert.equal(out.toString(), '{"we\\"ird\\\\path":{"a":1}}');
  assert.deepEqual(JSON.parse(out.toString()), { 'we"ird\\path': { a: 1 } });
});

test('raw envelope is the record itself, no copy', () => {
  const body = Buffer.from('{"a":1}');
  assert.equal(new EnvelopeBuilder('raw', 'conn').build(body), body);
});

test('FieldExtractor reads uid from every real record exactly as JSON.parse does', () => {
  const uid = new FieldExtractor('uid');
  const ts = new FieldExtractor('ts');
  let withUid = 0;
  for (const [, body] of allNcsa) {
    const obj = JSON.parse(body!.toString()) as Record<string, unknown>;
    const got = uid.extract(body!);
    if (typeof obj.uid === 'string') {
      withUid++;
      assert.equal(got?.toString(), obj.uid);
    } else assert.equal(got, undefined);
    assert.equal(Number(ts.extract(body!)?.toString()), obj.ts);
  }
  assert.ok(withUid > 50);
});

test('FieldExtractor is not fooled by the key text inside a string value', () => {
  const e = new FieldExtractor('uid');
  const json = Buffer.from('{"uri":"/x?a=1,\\"uid\\":\\"evil\\"","uid":"Creal","n":null}');
  assert.equal(e.extract(json)?.toString(), 'Creal');
  assert.equal(new FieldExtractor('n').extract(json), undefined);
  assert.equal(new FieldExtractor('missing').extract(json), undefined);
  assert.equal(new FieldExtractor('uid').extract(Buffer.from('{"uid":"C1"}'))?.toString(), 'C1');
});
