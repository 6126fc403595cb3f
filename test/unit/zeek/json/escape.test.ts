import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRng } from '../../../helpers/mutate.js';
import { needsHexEscape, viewOf, writeJsonEscaped, writeZeekString, writeZeekStringWords, zeekJsonString } from '../../../../src/zeek/json/escape.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

test('spec §6.3 table: escape_utf8 then rapidjson escaping', () => {
  const rows: [Buffer, string][] = [
    [hex('61'), '"a"'],
    [hex('08 0c 0a 0d 09 00 15'), String.raw`"\b\f\n\r\t\\x00\\x15"`],
    [hex('c3 b1'), '"ñ"'],
    [hex('c3 28'), String.raw`"\\xc3("`],
    [hex('ed a0 a1'), String.raw`"\\xed\\xa0\\xa1"`],
    [hex('5c 5c'), String.raw`"\\\\"`],
    [hex('0b 5c 76 0b'), String.raw`"\\x0b\\v\\x0b"`],
    [
      Buffer.concat([Buffer.from('a rocket '), hex('f0 9f 9a 80'), Buffer.from('!'), hex('00'), Buffer.from(' NUL'), hex('00')]),
      String.raw`"a rocket \\xf0\\x9f\\x9a\\x80!\\x00 NUL\\x00"`,
    ],
    [hex('c2 85'), String.raw`"\\xc2\\x85"`],
    [hex('ee 80 80'), String.raw`"\\xee\\x80\\x80"`],
    [hex('ef bf bd'), String.raw`"\\xef\\xbf\\xbd"`],
    [hex('ef bb bf'), '"\ufeff"'],
    [hex('7f'), String.raw`"\\x7f"`],
  ];
  for (const [input, want] of rows) assert.equal(zeekJsonString(input), want, input.toString('hex'));
});

test('quotes, backslashes and valid UTF-8 outside the forbidden ranges', () => {
  assert.equal(zeekJsonString(Buffer.from('say "hi" \\ /x')), String.raw`"say \"hi\" \\ /x"`);
  assert.equal(zeekJsonString(Buffer.from('"\x07')), String.raw`"\"\\x07"`);
  assert.equal(zeekJsonString(Buffer.from('/printable_😄')), '"/printable_😄"');
  assert.equal(zeekJsonString(Buffer.from('\u2028\u2029')), '"\u2028\u2029"'); // not escaped
  assert.equal(zeekJsonString(hex('f4 8f bf bf')), '"\u{10ffff}"'); // above U+FFFF is never forbidden
  assert.equal(zeekJsonString(hex('ef bf af')), '"\uffef"'); // just below U+FFF0
  assert.equal(zeekJsonString(hex('ef bf b0')), String.raw`"\\xef\\xbf\\xb0"`);
  assert.equal(zeekJsonString(hex('ef a3 bf')), String.raw`"\\xef\\xa3\\xbf"`); // U+F8FF, private use
  assert.equal(zeekJsonString(hex('ef a4 80')), '"\uf900"');
  assert.equal(zeekJsonString(hex('c2 a0')), '"\u00a0"');
  assert.equal(zeekJsonString(hex('c2 9f')), String.raw`"\\xc2\\x9f"`); // C1
  assert.equal(zeekJsonString(hex('e0 80 80')), String.raw`"\\xe0\\x80\\x80"`); // overlong
  assert.equal(zeekJsonString(hex('f4 90 80 80')), String.raw`"\\xf4\\x90\\x80\\x80"`); // > U+10FFFF
  assert.equal(zeekJsonString(hex('e2 82')), String.raw`"\\xe2\\x82"`); // truncated
  assert.equal(zeekJsonString(Buffer.alloc(0)), '""');
});

/** The spec's recipe: fatal TextDecoder (BOM kept) plus the forbidden code point set. */
function specIsBad(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return true;
  }
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const inP = (cp >= 0x20 && cp <= 0x7e) || cp === 8 || cp === 9 || cp === 10 || cp === 12 || cp === 13;
    if (inP || cp > 0x7e) {
      if ((cp >= 0x7f && cp <= 0x9f) || (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfff0 && cp <= 0xffff)) return true;
      continue;
    }
    return true; // other C0 controls
  }
  return false;
}

/** Independent model of the whole rendering, from the spec's wording. */
function specRender(bytes: Uint8Array): string {
  if (!specIsBad(bytes)) return JSON.stringify(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
  let s = '"';
  for (const c of bytes) {
    if (c >= 0x20 && c <= 0x7e) s += c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : String.fromCharCode(c);
    else if (c === 8) s += '\\b';
    else if (c === 9) s += '\\t';
    else if (c === 10) s += '\\n';
    else if (c === 12) s += '\\f';
    else if (c === 13) s += '\\r';
    else s += '\\\\x' + c.toString(16).padStart(2, '0');
  }
  return s + '"';
}

test('all-or-nothing rule matches the TextDecoder model on random byte strings', () => {
  const next = makeRng(0x9e3779b9).u32;
  // weighted toward control bytes, lead/continuation bytes and the forbidden ranges
  const pool = [
    [0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x7f, 0x22, 0x5c],
    [0x80, 0x85, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff],
    [0x61, 0x20, 0x7e, 0x41],
  ];
  let bad = 0;
  for (let i = 0; i < 30000; i++) {
    const len = next() % 12;
    const bytes = new Uint8Array(len);
    for (let j = 0; j < len; j++) {
      const r = next() % 10;
      bytes[j] = r < 3 ? pool[0]![next() % pool[0]!.length]! : r < 6 ? pool[1]![next() % pool[1]!.length]! : r < 8 ? next() & 0xff : pool[2]![next() % 4]!;
    }
    // also well-formed sequences of random code points, which are rarely hit by bytes
    if (i % 3 === 0) {
      const cps = [0x85, 0xe000, 0xf8ff, 0xfff0, 0xfffd, 0xfeff, 0x10ffff, 0x2028, next() % 0x110000];
      const cp = cps[next() % cps.length]!;
      const isSurrogate = cp >= 0xd800 && cp <= 0xdfff;
      if (!isSurrogate) {
        const enc = Buffer.from(String.fromCodePoint(cp));
        const b2 = Buffer.concat([Buffer.from(bytes.subarray(0, 2)), enc]);
        assert.equal(zeekJsonString(b2), specRender(b2), b2.toString('hex'));
      }
    }
    const got = zeekJsonString(bytes);
    const want = specRender(bytes);
    if (got !== want) assert.fail(`${Buffer.from(bytes).toString('hex')}: got ${got}, want ${want}`);
    if (needsHexEscape(bytes, 0, len)) bad++;
  }
  assert.ok(bad > 1000, 'the sample exercised the hex branch');
});

test('the word-at-a-time writer equals the byte writer at every offset and length', () => {
  const src = Buffer.from('abcdefgh"ijk\\lmnop\x01qrs~\x7ftuv ñ wxyz 0123456789 ABCDEFGHIJKLMNOP');
  const a = Buffer.alloc(1024);
  const b = Buffer.alloc(1024);
  const av = viewOf(a);
  const sv = viewOf(src);
  for (let start = 0; start < src.length; start++) {
    for (let end = start; end <= src.length; end++) {
      const ea = writeZeekStringWords(a, av, 3, src, sv, start, end);
      const eb = writeZeekString(b, 3, src, start, end);
      assert.equal(a.toString('latin1', 3, ea), b.toString('latin1', 3, eb), `${start}..${end}`);
    }
  }
});

test('field-name escaping (rapidjson only): uppercase \\u00XX for other controls', () => {
  const out = Buffer.alloc(64);
  const src = Buffer.from('a"b\\c\x01\x1f\n\x7fé');
  const end = writeJsonEscaped(out, 0, src, 0, src.length);
  assert.equal(out.toString('utf8', 0, end), 'a\\"b\\\\c\\u0001\\u001F\\n\x7fé');
});
