import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { KeyRewriter, renameField } from '../../../src/routing/rewrite-keys.js';
import { loadCapture, PCAPS, readLogLines, testdataPath } from '../../helpers/testdata.js';

/** Every record we have as JSON text: NCSA message bodies and Zeek's own JSON logs. */
function allRecords(): Buffer[] {
  const out: Buffer[] = [];
  for (const p of PCAPS) {
    for (const [, body] of loadCapture('ncsa', `${p}.jsonl`)) out.push(body!);
    for (const dir of [['ncsa', `${p}.logs`], ['cluster', `${p}.logs`, 'json']]) {
      let files: string[];
      try {
        files = readdirSync(testdataPath(...dir)).filter((f) => f.endsWith('.log'));
      } catch {
        continue;
      }
      for (const f of files) for (const line of readLogLines(...dir, f)) if (line.startsWith('{')) out.push(Buffer.from(line));
    }
  }
  return out;
}

const records = allRecords();

/** What the rewriter must produce, computed the slow way. */
function expected(json: Buffer, rename: (k: string) => string): Record<string, unknown> {
  const obj = JSON.parse(json.toString()) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [rename(k), v]));
}

test('scope separator renames every dotted top-level key of every capture, values byte for byte', () => {
  assert.ok(records.length > 400, `only ${records.length} records`);
  const rw = new KeyRewriter({ scopeSeparator: '_' });
  let changed = 0;
  for (const json of records) {
    const out = rw.rewrite(json);
    const text = out.toString();
    assert.deepEqual(JSON.parse(text), expected(json, (k) => k.split('.').join('_')));
    // Only keys change: the text minus renamed keys is the input minus the original keys.
    assert.equal(out.length, json.length);
    if (out !== json) changed++;
    else assert.ok(!json.toString().includes('."'), 'unchanged only when there were no dotted keys');
  }
  assert.ok(changed > 100);
});

test('field-name map applies after the separator, like Log::default_field_name_map after scope_sep', () => {
  const rw = new KeyRewriter({ scopeSeparator: '_', fieldNameMap: { id_orig_h: 'src_ip', ts: '@timestamp' } });
  const out = rw.rewrite(Buffer.from('{"ts":1.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","uid":"C1"}'));
  assert.equal(out.toString(), '{"@timestamp":1.5,"src_ip":"10.0.0.1","id_resp_h":"10.0.0.2","uid":"C1"}');
  assert.equal(renameField('id.orig_h', { fieldNameMap: { 'id.orig_h': 'a' } }), 'a');
  assert.equal(renameField('uid', { scopeSeparator: '_' }), undefined);
});

test('an empty scope separator joins the names with nothing, as Zeek joins path + scope_sep + field', () => {
  assert.equal(renameField('id.orig_h', { scopeSeparator: '' }), 'idorig_h');
  assert.equal(renameField('id.orig_h', { scopeSeparator: '.' }), undefined);
  const rw = new KeyRewriter({ scopeSeparator: '' });
  const out = rw.rewrite(Buffer.from('{"ts":1.5,"id.orig_h":"10.0.0.1","id.resp_p":80}'));
  assert.equal(out.toString(), '{"ts":1.5,"idorig_h":"10.0.0.1","idresp_p":80}');
});

test('records where nothing matches come back as the same buffer', () => {
  const rw = new KeyRewriter({ fieldNameMap: { no_such_field: 'x' } });
  for (const json of records) assert.equal(rw.rewrite(json), json);
});

test('time fields are converted by name to iso8601 and millis exactly as the cluster writer formats them', () => {
  const iso = new KeyRewriter({ timestamps: 'iso8601', timeFields: ['ts'] });
  // Values from Zeek's own conn.log of smtp.pcap (ncsa/smtp.logs/conn.log, first record) in both modes.
  const rec = Buffer.from('{"ts":1254722767.49206,"uid":"CaeWKI2BAF8Z2QCrE9","duration":0.034024953842163086}');
  assert.equal(iso.rewrite(rec).toString(), '{"ts":"2009-10-05T06:06:07.492060Z","uid":"CaeWKI2BAF8Z2QCrE9","duration":0.034024953842163086}');
  const ms = new KeyRewriter({ timestamps: 'millis', timeFields: ['ts'] });
  assert.equal(ms.rewrite(rec).toString(), '{"ts":1254722767492,"uid":"CaeWKI2BAF8Z2QCrE9","duration":0.034024953842163086}');
  // Non-numbers are left alone; epoch means no conversion at all.
  const s = Buffer.from('{"ts":"already"}');
  assert.equal(iso.rewrite(s), s);
  assert.equal(new KeyRewriter({ timestamps: 'epoch', timeFields: ['ts'] }).rewrite(rec), rec);
  // Conversion and renaming together.
  const both = new KeyRewriter({ timestamps: 'iso8601', timeFields: ['ts'], fieldNameMap: { ts: '@timestamp' } });
  assert.equal(JSON.parse(both.rewrite(rec).toString())['@timestamp'], '2009-10-05T06:06:07.492060Z');
});

test('every capture converts ts to iso8601 and stays valid JSON', () => {
  const rw = new KeyRewriter({ timestamps: 'iso8601', scopeSeparator: '_' });
  for (const json of records) {
    const obj = JSON.parse(rw.rewrite(json).toString()) as Record<string, unknown>;
    if ('ts' in obj) assert.match(String(obj.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
});

test('escaped keys, whitespace and nested values are handled; odd input is returned untouched', () => {
  const rw = new KeyRewriter({ scopeSeparator: '_' });
  const odd = Buffer.from(' { "a\\u002eb" : [1,{"c.d":"}"}] , "e.f":"x\\"}" } ');
  assert.deepEqual(JSON.parse(rw.rewrite(odd).toString()), { a_b: [1, { 'c.d': '}' }], e_f: 'x"}' });
  for (const bad of ['', '[]', '{', '{"a.b"', '{"a.b":}', '{"a.b":1,,}', '{"a.b":1 "c":2}', 'null', '{"a.b":"\n"}']) {
    const b = Buffer.from(bad);
    assert.equal(rw.rewrite(b), b, bad);
  }
});

/** A small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = Buffer.from('{}[]":,.\\ abcts0123456789-eE+ntrulfa\n\u00e9');

function isJson(b: Buffer): boolean {
  try {
    JSON.parse(b.toString());
    return true;
  } catch {
    return false;
  }
}

test('fuzz: random and mutated records never throw, valid JSON stays valid, untouched when nothing matches', () => {
  const rand = prng(14);
  const rewriters = [
    new KeyRewriter({ scopeSeparator: '_' }),
    new KeyRewriter({ scopeSeparator: '_', fieldNameMap: { uid: 'u', id_orig_h: 'src' }, timestamps: 'iso8601', timeFields: ['ts'] }),
    new KeyRewriter({ timestamps: 'millis', timeFields: ['ts', 'a'] }),
  ];
  const none = new KeyRewriter({ fieldNameMap: { '\u0000never': 'x' } });
  let validIn = 0;
  for (let i = 0; i < 8000; i++) {
    let input: Buffer;
    if (i % 2 === 0) {
      const len = Math.floor(rand() * 40);
      input = Buffer.alloc(len);
      for (let j = 0; j < len; j++) input[j] = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
      if (rand() < 0.5 && len > 0) input[0] = 0x7b;
    } else {
      input = Buffer.from(records[Math.floor(rand() * records.length)]!);
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * input.length);
        const r = rand();
        if (r < 0.4) input[at] = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
        else if (r < 0.7) input = Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
        else input = input.subarray(0, at);
      }
    }
    const valid = isJson(input);
    if (valid) validIn++;
    for (const rw of rewriters) {
      const out = rw.rewrite(input);
      if (valid) assert.ok(isJson(out), `invalid output for ${JSON.stringify(input.toString())}: ${out.toString()}`);
    }
    assert.equal(none.rewrite(input), input);
  }
  assert.ok(validIn > 400, `only ${validIn} valid inputs`);
});
