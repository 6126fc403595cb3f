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

test('inline envelope splices _path first into every real record, the record members unchanged', () => {
  for (const [pathFrame, body] of allNcsa) {
    const path = pathFrame!.toString();
    const out = new EnvelopeBuilder('inline', path).build(body!);
    const parsed = JSON.parse(out.toString()) as Record<string, unknown>;
    assert.equal(Object.keys(parsed)[0], '_path');
    assert.deepEqual(parsed, { _path: path, ...(JSON.parse(body!.toString()) as object) });
    // The record's members follow verbatim: `{"_path":"x",` + record without its brace.
    assert.equal(out.subarray(out.length - body!.length + 1).compare(body!.subarray(1)), 0);
  }
});

test('inline envelope: _system_name from the sender or configured, _write_ts in the route format', () => {
  const json = Buffer.from('{"ts":1.5,"uid":"C1"}');
  const rec = { sender: 'worker-1', receivedAtMs: 1254722767492.06 };
  const sender = new EnvelopeBuilder('inline', 'conn', { systemName: '{sender}', writeTs: true, timestamps: 'iso8601' });
  assert.equal(sender.build(json, undefined, rec).toString(), '{"_path":"conn","_system_name":"worker-1","_write_ts":"2009-10-05T06:06:07.492060Z","ts":1.5,"uid":"C1"}');
  // NCSA records have no sender: the member is left out rather than invented.
  assert.equal(sender.build(json, undefined, { ...rec, sender: undefined, receivedAtMs: 1000 }).toString(), '{"_path":"conn","_write_ts":"1970-01-01T00:00:01.000000Z","ts":1.5,"uid":"C1"}');
  const fixed = new EnvelopeBuilder('inline', 'conn', { systemName: 'sensor "a"', writeTs: true });
  assert.equal(fixed.build(json, undefined, rec).toString(), '{"_path":"conn","_system_name":"sensor \\"a\\"","_write_ts":1254722767.49206,"ts":1.5,"uid":"C1"}');
  // A Zeek cluster id names the node stably, without the pid and random part of one run.
  const zeekId = { ...rec, sender: 'zeromq_worker-1_vm_15795_NS6tLz2SScHrbTeYra' };
  assert.equal(sender.build(json, undefined, zeekId).toString(), '{"_path":"conn","_system_name":"worker-1@vm","_write_ts":"2009-10-05T06:06:07.492060Z","ts":1.5,"uid":"C1"}');
  const millis = new EnvelopeBuilder('inline', 'conn', { writeTs: true, timestamps: 'millis' });
  assert.equal(millis.build(json, undefined, rec).toString(), '{"_path":"conn","_write_ts":1254722767492,"ts":1.5,"uid":"C1"}');
});

test('inline envelope of an empty record has no dangling comma; a non-object is passed through', () => {
  const b = new EnvelopeBuilder('inline', 'x', { systemName: 'n' });
  assert.equal(b.build(Buffer.from('{}')).toString(), '{"_path":"x","_system_name":"n"}');
  assert.equal(b.build(Buffer.from('{ }')).toString(), '{"_path":"x","_system_name":"n"}');
  const odd = Buffer.from('[1]');
  assert.equal(b.build(odd), odd);
});
