import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeekLogParser, parseColumnType, unescapeTsv, type ParsedLine } from '../../../../src/zeek/tsv/parser.js';
import { countText, doubleText, intText, portText } from '../../../../src/zeek/tsv/values.js';

const HEADER = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tdemo',
  '#open\t2024-01-01-00-00-00',
];

/** Parses a TSV log (header + rows) given as text lines and returns one result per row. */
function parseRows(fields: string[], types: string[], rows: string[], header = HEADER): ParsedLine[] {
  const p = new ZeekLogParser();
  for (const l of [...header, `#fields\t${fields.join('\t')}`, `#types\t${types.join('\t')}`]) {
    assert.deepEqual(p.parseLine(Buffer.from(l)), { kind: 'skip' }, l);
  }
  return rows.map((r) => p.parseLine(Buffer.from(r)));
}

function json(r: ParsedLine): string {
  assert.equal(r.kind, 'record', JSON.stringify(r));
  return (r as { json: Buffer }).json.toString('utf8');
}

/** One column of the given type: the JSON member it becomes. */
function one(type: string, value: string): string {
  return json(parseRows(['v'], [type], [value])[0]!);
}

test('header: separators, markers and path are read; #close ends the log', () => {
  const p = new ZeekLogParser();
  for (const l of [...HEADER, '#fields\tts\tv', '#types\ttime\tstring']) p.parseLine(Buffer.from(l));
  assert.equal(p.path, 'demo');
  assert.equal(p.header.separator, '\t');
  assert.equal(p.header.setSeparator, ',');
  assert.equal(p.header.emptyField, '(empty)');
  assert.equal(p.header.unsetField, '-');
  assert.deepEqual(p.header.fields, ['ts', 'v']);
  assert.equal(json(p.parseLine(Buffer.from('1.5\tx'))), '{"ts":1.5,"v":"x"}');
  assert.deepEqual(p.parseLine(Buffer.from('#close\t2024-01-01-00-00-01')), { kind: 'skip' });
  assert.equal(p.path, undefined);
  assert.equal((p.parseLine(Buffer.from('1.5\tx')) as { reason: string }).reason, 'no-header');
  assert.equal(json(p.parseLine(Buffer.from('{"ts":2.5}'))), '{"ts":2.5}'); // a JSON log appended
});

test('header: custom separator, set separator and markers', () => {
  const header = ['#separator \\x7c', '#set_separator|;', '#empty_field|EMPTY', '#unset_field|NONE', '#path|custom'];
  const p = new ZeekLogParser();
  for (const l of [...header, '#fields|a|b|c|d', '#types|set[count]|string|count|vector[string]']) p.parseLine(Buffer.from(l));
  assert.equal(p.path, 'custom');
  assert.equal(json(p.parseLine(Buffer.from('1;2|EMPTY|NONE|x;EMPTY;NONE'))), '{"a":[1,2],"b":"","d":["x","",null]}');
  assert.equal(json(p.parseLine(Buffer.from('EMPTY|-|7|EMPTY'))), '{"a":[],"b":"-","c":7,"d":[]}');
});

test('header: a new #separator starts a new header (concatenated logs)', () => {
  const p = new ZeekLogParser();
  for (const l of [...HEADER, '#fields\ta', '#types\tcount']) p.parseLine(Buffer.from(l));
  assert.equal(json(p.parseLine(Buffer.from('1'))), '{"a":1}');
  for (const l of ['#separator \\x09', '#path\tother', '#fields\tb\tc', '#types\tstring\tbool']) p.parseLine(Buffer.from(l));
  assert.equal(p.path, 'other');
  assert.equal(json(p.parseLine(Buffer.from('x\tT'))), '{"b":"x","c":true}');
});

test('header: #fields without #separator uses Zeek defaults (zeek-cut style files)', () => {
  const rows = parseRows(['a', 'b'], ['string', 'set[string]'], ['x\ty,z'], []);
  assert.equal(json(rows[0]!), '{"a":"x","b":["y","z"]}');
});

test('header problems: mismatched lengths and unsupported types reject the header and its rows', () => {
  const p = new ZeekLogParser();
  p.parseLine(Buffer.from('#fields\ta\tb'));
  const bad = p.parseLine(Buffer.from('#types\tcount'));
  assert.deepEqual(bad, { kind: 'error', reason: 'bad-header', detail: '2 #fields but 1 #types' });
  const row = p.parseLine(Buffer.from('1\t2'));
  assert.equal(row.kind, 'error');
  assert.equal((row as { reason: string }).reason, 'no-header');

  const q = new ZeekLogParser();
  q.parseLine(Buffer.from('#fields\tp'));
  const r = q.parseLine(Buffer.from('#types\tpattern'));
  assert.deepEqual(r, { kind: 'error', reason: 'bad-header', detail: 'unsupported type pattern of field p' });
});

test('column types', () => {
  assert.deepEqual(parseColumnType('count'), { container: undefined, scalar: 'count' });
  assert.deepEqual(parseColumnType('set[enum]'), { container: 'set', scalar: 'enum' });
  assert.deepEqual(parseColumnType('vector[interval]'), { container: 'vector', scalar: 'interval' });
  for (const bad of ['pattern', 'table[string] of count', 'set[set[string]]', 'vector[record]', '', 'Count']) {
    assert.equal(parseColumnType(bad), undefined, bad);
  }
});

test('TSV unescaping: \\xNN, \\\\, and lone backslashes (text is latin1: one char per byte)', () => {
  assert.equal(unescapeTsv('plain'), 'plain');
  assert.equal(unescapeTsv('a\\x09b'), 'a\tb');
  assert.equal(unescapeTsv('\\x2d'), '-');
  assert.equal(unescapeTsv('\\x28empty)'), '(empty)');
  assert.equal(unescapeTsv('lit\\\\x07'), 'lit\\x07'); // an escaped backslash, then text
  assert.equal(unescapeTsv('\\\\\\x07'), '\\\x07');
  assert.equal(unescapeTsv('\\xZZ\\q\\'), '\\xZZ\\q\\'); // not an escape: kept as is
  assert.equal(unescapeTsv('\\xFf\\xc3\\xa9'), '\xff\xc3\xa9');
});

test('a multi-byte separator', () => {
  const p = new ZeekLogParser();
  for (const l of ['#separator \\x3a\\x3a', '#set_separator::;', '#fields::a::b', '#types::count::set[string]']) p.parseLine(Buffer.from(l));
  assert.equal(json(p.parseLine(Buffer.from('1::x;y\\x3a'))), '{"a":1,"b":["x","y:"]}');
  assert.equal((p.parseLine(Buffer.from('1:2::x')) as { reason: string }).reason, 'bad-value');
});

test('strings: TSV escapes undone, then Zeek JSON escaping (spec §6.3)', () => {
  assert.equal(one('string', 'hello world'), '{"v":"hello world"}');
  assert.equal(one('string', '(empty)'), '{"v":""}');
  assert.equal(one('string', '\\x2d'), '{"v":"-"}'); // a string that is just "-"
  assert.equal(one('string', '\\x28empty)'), '{"v":"(empty)"}');
  assert.equal(one('string', 'a\\x09b'), '{"v":"a\\tb"}'); // the separator, escaped in TSV
  assert.equal(one('string', 'say "hi"'), '{"v":"say \\"hi\\""}');
  assert.equal(one('string', '/non_printable_\\x07'), '{"v":"/non_printable_\\\\x07"}');
  assert.equal(one('string', '/literal_\\\\x07'), '{"v":"/literal_\\\\x07"}'); // same JSON: Zeek's JSON cannot tell them apart
  assert.equal(one('string', '/printable_😄'), '{"v":"/printable_😄"}'); // UTF-8 written raw (enable_utf_8)
  assert.equal(one('string', '/escaped_\\xf0\\x9f\\x98\\x84'), '{"v":"/escaped_😄"}'); // UTF-8 escaped (enable_utf_8=F)
  assert.equal(one('string', 'bad \\xc3( \\xf0\\x9f\\x98\\x84'), '{"v":"bad \\\\xc3( \\\\xf0\\\\x9f\\\\x98\\\\x84"}'); // all or nothing
  assert.equal(one('string', 'nul\\x00'), '{"v":"nul\\\\x00"}');
  assert.equal(one('string', 'c\\x0ad'), '{"v":"c\\nd"}');
  assert.equal(one('enum', 'Conn::LOG'), '{"v":"Conn::LOG"}');
  assert.equal(one('string', '\\x23hash'), '{"v":"#hash"}');
});

test('unset fields are left out; the order of #fields is kept', () => {
  const [r] = parseRows(['z', 'a', 'm'], ['count', 'string', 'bool'], ['-\tx\t-']);
  assert.equal(json(r!), '{"a":"x"}');
  const [s] = parseRows(['z', 'a', 'm'], ['count', 'string', 'bool'], ['-\t-\t-']);
  assert.equal(json(s!), '{}');
  const [t] = parseRows(['z', 'a', 'm'], ['count', 'string', 'bool'], ['3\tx\tF']);
  assert.equal(json(t!), '{"z":3,"a":"x","m":false}');
});

test('bool, addr, subnet, port', () => {
  assert.equal(one('bool', 'T'), '{"v":true}');
  assert.equal(one('bool', 'F'), '{"v":false}');
  assert.equal(one('addr', '192.168.1.1'), '{"v":"192.168.1.1"}');
  assert.equal(one('addr', 'fe80::217:f2ff:fed7:cf65'), '{"v":"fe80::217:f2ff:fed7:cf65"}');
  assert.equal(one('subnet', '10.0.0.0/8'), '{"v":"10.0.0.0/8"}');
  assert.equal(one('subnet', '2001:db8::/32'), '{"v":"2001:db8::/32"}');
  assert.equal(one('port', '443'), '{"v":443}');
  assert.equal(one('port', '53/udp'), '{"v":53}');
});

test('count and int stay exact over 64 bits (no Number round trip)', () => {
  assert.equal(one('count', '18446744073709551615'), '{"v":18446744073709551615}');
  assert.equal(one('count', '9007199254740993'), '{"v":9007199254740993}');
  assert.equal(one('int', '-9223372036854775808'), '{"v":-9223372036854775808}');
  assert.equal(one('int', '9223372036854775807'), '{"v":9223372036854775807}');
  assert.equal(countText('007'), '7');
  assert.equal(countText('0'), '0');
  assert.equal(intText('-0'), '0');
  assert.equal(intText('+5'), '5');
  assert.throws(() => countText('18446744073709551616'), /out of range/);
  assert.throws(() => intText('9223372036854775808'), /out of range/);
  assert.throws(() => intText('-9223372036854775809'), /out of range/);
  assert.throws(() => countText('-1'), /not a count/);
  assert.throws(() => countText('1.0'), /not a count/);
  assert.throws(() => portText('65536'), /not a port/);
});

test('doubles, times and intervals use Zeek JSON double formatting', () => {
  assert.equal(one('time', '1722442976.704158'), '{"v":1722442976.704158}');
  assert.equal(one('interval', '0.000000'), '{"v":0.0}');
  assert.equal(one('interval', '1.000000'), '{"v":1.0}');
  assert.equal(one('interval', '0.000092'), '{"v":0.000092}');
  assert.equal(one('interval', '-2.500000'), '{"v":-2.5}');
  assert.equal(one('double', '3.14'), '{"v":3.14}');
  assert.equal(one('double', '1e21'), '{"v":1e21}');
  assert.equal(one('time', '2.147484e+09'), '{"v":2147484000.0}'); // modp_dtoa's %e branch above 2^31
  assert.equal(doubleText('0.0000001'), '1e-7');
  for (const nonFinite of ['nan', '-nan', 'inf', '-inf']) assert.equal(doubleText(nonFinite), 'null');
  assert.throws(() => doubleText('1.2.3'), /not a number/);
  assert.throws(() => doubleText('0x10'), /not a number/);
});

test('sets and vectors: split on the set separator, typed elements, (empty), holes', () => {
  assert.equal(one('set[string]', '(empty)'), '{"v":[]}');
  assert.equal(one('vector[string]', '(empty)'), '{"v":[]}');
  assert.equal(one('set[string]', 'a,b,c'), '{"v":["a","b","c"]}');
  assert.equal(one('set[string]', 'a\\x2cb,c'), '{"v":["a,b","c"]}'); // an escaped set separator
  assert.equal(one('set[enum]', 'SSL::X,SSL::Y'), '{"v":["SSL::X","SSL::Y"]}');
  assert.equal(one('vector[count]', '1,2,3'), '{"v":[1,2,3]}');
  assert.equal(one('vector[count]', '1,-,3'), '{"v":[1,null,3]}'); // a vector hole
  assert.equal(one('vector[interval]', '1.000000,0.500000'), '{"v":[1.0,0.5]}');
  assert.equal(one('vector[addr]', '10.0.0.1,::1'), '{"v":["10.0.0.1","::1"]}');
  assert.equal(one('vector[string]', 'x,(empty),\\x2d'), '{"v":["x","","-"]}');
  assert.equal(one('vector[bool]', 'T,F'), '{"v":[true,false]}');
  assert.equal(one('set[subnet]', '10.0.0.0/8'), '{"v":["10.0.0.0/8"]}');
});

test('bad values and lines are rejected with a reason and the field name', () => {
  const rows = parseRows(
    ['ts', 'n', 'a'],
    ['time', 'count', 'addr'],
    ['1.0\tx\t1.2.3.4', '1.0\t1', '1.0\t1\t1.2.3.4\textra', 'abc\t1\t1.2.3.4', '1.0\t1\t999.1.1.1', '1.0\t1\t1.2.3.4'],
  );
  const reasons = rows.map((r) => (r.kind === 'error' ? `${r.reason}: ${r.detail}` : r.kind));
  assert.deepEqual(reasons, [
    'bad-value: n: not a count: "x"',
    'field-count: expected 3 fields, got 2',
    'field-count: expected 3 fields, got 4',
    'bad-value: ts: not a number: "abc"',
    'bad-value: a: not an address: "999.1.1.1"',
    'record',
  ]);
  assert.equal((rows[5] as { ts: number }).ts, 1);
  const detail = (type: string, value: string): string => (parseRows(['v'], [type], [value])[0] as { detail: string }).detail;
  assert.equal(detail('bool', 'yes'), 'v: not a bool: "yes"');
  assert.equal(detail('subnet', '10.0.0.0/33'), 'v: not a subnet: "10.0.0.0/33"');
  assert.equal(detail('vector[count]', '1,x'), 'v: not a count: "x"');
});

test('the ts column gives the pacing time; CR line ends are tolerated', () => {
  const [r] = parseRows(['ts', 'v'], ['time', 'string'], ['1300475167.096535\tx\r']);
  assert.equal((r as { ts: number }).ts, 1300475167.096535);
  assert.equal(json(r!), '{"ts":1300475167.096535,"v":"x"}');
});

test('JSON lines pass through byte for byte; invalid ones are rejected', () => {
  const p = new ZeekLogParser();
  const line = Buffer.from('{"ts":1300475167.096535,"n":18446744073709551615,"s":"\\\\x07 😄"}');
  const r = p.parseLine(line);
  assert.equal(r.kind, 'record');
  assert.equal((r as { json: Buffer }).json, line);
  assert.equal((r as { ts: number }).ts, 1300475167.096535);
  assert.equal((p.parseLine(Buffer.from('{"ts":"2024-01-01T00:00:01.500000Z"}')) as { ts: number }).ts, 1704067201.5);
  assert.equal((p.parseLine(Buffer.from('{"x":1}')) as { ts: unknown }).ts, undefined);
  const bad = ['{"ts":', '{"a":1}}', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])];
  for (const b of bad) {
    const e = p.parseLine(Buffer.isBuffer(b) ? b : Buffer.from(b));
    assert.equal(e.kind, 'error');
    assert.equal((e as { reason: string }).reason, 'bad-json');
  }
  assert.deepEqual(p.parseLine(Buffer.from('')), { kind: 'skip' });
  const junk = p.parseLine(Buffer.from('junk'));
  assert.equal((junk as { reason: string }).reason, 'no-header');
});
