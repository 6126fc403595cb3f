import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeekBinV1Decoder } from '../../../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../../../src/zeek/binary/log-write.js';
import { SchemaCatalog, jsonSchema, zeekTypeName, type SchemaDiff } from '../../../src/zeek/schemas.js';
import { TypeTag, type TimestampMode, type ZeekField } from '../../../src/zeek/types.js';
import { loadCapture, PCAPS } from '../../helpers/testdata.js';

const field = (name: string, type: number, subtype = 0, optional = false): ZeekField => ({ name, type, subtype, optional });

/** Checks a value against the subset of JSON Schema that jsonSchema() produces. */
function conforms(v: unknown, s: { type: string | string[]; items?: unknown; format?: string }): boolean {
  const types = Array.isArray(s.type) ? s.type : [s.type];
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v;
  const ok = types.includes(kind) || (kind === 'integer' && types.includes('number'));
  if (!ok) return false;
  if (kind === 'array') return (v as unknown[]).every((x) => conforms(x, s.items as never));
  if (s.format === 'date-time') return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6,7}Z$/.test(v as string);
  return true;
}

for (const timestamps of ['epoch', 'millis', 'iso8601'] as TimestampMode[]) {
  test(`every record of every cluster capture conforms to its path's JSON Schema (${timestamps})`, () => {
    const catalog = new SchemaCatalog(() => assert.fail('no schema change within a capture'), { timestamps });
    const decoder = new ZeekBinV1Decoder();
    let checked = 0;
    for (const pcap of PCAPS) {
      for (const frames of loadCapture('cluster', `${pcap}.jsonl`)) {
        const r = decodeLogWriteMessage(frames, { timestamps }, decoder);
        if (!r.ok) assert.fail(`${pcap}: ${r.reason}: ${r.detail}`);
        catalog.observe(r.batch.path, r.sender, r.batch.fields);
        const schema = (catalog.describe(r.batch.path)!.jsonSchema as { properties: Record<string, never> });
        for (const rec of r.batch.records) {
          const obj = JSON.parse(rec.toString()) as Record<string, unknown>;
          for (const [k, v] of Object.entries(obj)) assert.ok(conforms(v, schema.properties[k]!), `${r.batch.path}.${k}=${JSON.stringify(v)}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 150, `${checked} records`);
    const conn = catalog.describe('conn') as { senders: Record<string, { name: string; type: string }[]> };
    const fields = Object.values(conn.senders)[0]!;
    assert.deepEqual(fields.find((f) => f.name === 'id.orig_h'), { name: 'id.orig_h', type: 'addr', optional: false });
    assert.equal(fields.find((f) => f.name === 'ts')!.type, 'time');
    assert.ok(catalog.paths().includes('conn') && catalog.paths().includes('dns'));
  });
}

test('a changed schema is reported once with added, removed and retyped fields; per sender', () => {
  const changes: SchemaDiff[] = [];
  const catalog = new SchemaCatalog((d) => changes.push(d));
  const v1 = [field('ts', TypeTag.TIME), field('uid', TypeTag.STRING), field('n', TypeTag.COUNT)];
  const v2 = [field('ts', TypeTag.TIME), field('n', TypeTag.INT), field('tags', TypeTag.TABLE, TypeTag.STRING, true)];
  catalog.observe('conn', 'worker-1', v1);
  catalog.observe('conn', 'worker-2', v2); // another sender: its first schema, not a change
  catalog.observe('conn', 'worker-1', v1);
  catalog.observe('conn', 'worker-1', [...v1]); // equal fields, another array
  assert.equal(changes.length, 0);
  catalog.observe('conn', 'worker-1', v2);
  catalog.observe('conn', 'worker-1', v2);
  assert.deepEqual(changes, [{ path: 'conn', sender: 'worker-1', added: ['tags'], removed: ['uid'], retyped: ['n: count -> int'] }]);
  const conn = catalog.describe('conn') as { jsonSchema: { properties: Record<string, unknown> } };
  assert.deepEqual(Object.keys(conn.jsonSchema.properties), ['ts', 'n', 'tags']);
  assert.equal(catalog.describe('nope'), undefined);
});

test('Zeek type names and JSON Schema shapes of container types', () => {
  assert.equal(zeekTypeName(field('a', TypeTag.VECTOR, TypeTag.TIME)), 'vector[time]');
  assert.equal(zeekTypeName(field('a', TypeTag.TABLE, TypeTag.ADDR)), 'set[addr]');
  const s = jsonSchema('x', [field('a', TypeTag.VECTOR, TypeTag.TIME, true)], { timestamps: 'iso8601' }) as { properties: { a: unknown }; required?: string[] };
  assert.deepEqual(s.properties.a, { type: 'array', items: { type: 'string', format: 'date-time' }, 'x-zeek-type': 'vector[time]' });
  assert.equal(s.required, undefined, 'any column can be unset');
});

test('the JSON Schema describes records as the ingress writes them: renamed keys, null for unset fields', () => {
  const catalog = new SchemaCatalog(() => {}, { timestamps: 'millis', includeUnsetFields: true, naming: { scopeSeparator: '_', fieldNameMap: { uid: 'zeek_uid' } } });
  const decoder = new ZeekBinV1Decoder(undefined, { scopeSeparator: '_', fieldNameMap: { uid: 'zeek_uid' } });
  let checked = 0;
  for (const frames of loadCapture('cluster', 'smtp.jsonl')) {
    const r = decodeLogWriteMessage(frames, { timestamps: 'millis', includeUnsetFields: true }, decoder);
    if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
    catalog.observe(r.batch.path, r.sender, r.batch.fields);
    const schema = catalog.describe(r.batch.path)!.jsonSchema as { properties: Record<string, never> };
    for (const rec of r.batch.records) {
      const obj = JSON.parse(rec.toString()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(obj), Object.keys(schema.properties), `${r.batch.path}: every field written, under its schema key`);
      for (const [k, v] of Object.entries(obj)) assert.ok(conforms(v, schema.properties[k]!), `${r.batch.path}.${k}=${JSON.stringify(v)}`);
      checked++;
    }
  }
  assert.ok(checked > 10, `${checked} records`);
  const conn = catalog.describe('conn') as { jsonSchema: { properties: Record<string, unknown> } };
  assert.deepEqual(conn.jsonSchema.properties.id_orig_h, { type: ['string', 'null'], 'x-zeek-type': 'addr', 'x-zeek-name': 'id.orig_h' });
  assert.deepEqual(conn.jsonSchema.properties.zeek_uid, { type: ['string', 'null'], 'x-zeek-type': 'string', 'x-zeek-name': 'uid' });
  assert.deepEqual(conn.jsonSchema.properties.ts, { type: ['integer', 'null'], 'x-zeek-type': 'time' });
});
