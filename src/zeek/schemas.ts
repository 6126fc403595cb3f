/**
 * Per-path schemas seen in cluster batch headers, per sender (its stable node name, so that a
 * restarted, upgraded Zeek node is compared with its previous self): what `GET /schemas`
 * serves, and where schema drift (a Zeek upgrade, a script adding a field) is noticed.
 * Batches of one schema share one frozen field array (the head cache), so observing
 * a batch costs one map lookup and an identity compare.
 */
import { TypeTag, type TimestampMode, type ZeekField } from './types.js';
import { renameField, type FieldNaming } from './json/field-names.js';

const TYPE_NAMES = new Map<number, string>(Object.entries(TypeTag).map(([k, v]) => [v, k.toLowerCase()]));

/** Zeek's name of a field's type: `addr`, `set[string]`, `vector[count]`... */
export function zeekTypeName(f: Pick<ZeekField, 'type' | 'subtype'>): string {
  const name = TYPE_NAMES.get(f.type) ?? `type-${f.type}`;
  const sub = TYPE_NAMES.get(f.subtype) ?? `type-${f.subtype}`;
  if (f.type === TypeTag.TABLE) return `set[${sub}]`;
  if (f.type === TypeTag.VECTOR) return `vector[${sub}]`;
  return name;
}

export interface SchemaDiff {
  readonly path: string;
  readonly sender: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** `name: old -> new` */
  readonly retyped: readonly string[];
}

export function diffFields(before: readonly ZeekField[], after: readonly ZeekField[]): Omit<SchemaDiff, 'path' | 'sender'> {
  const old = new Map(before.map((f) => [f.name, zeekTypeName(f)]));
  const now = new Map(after.map((f) => [f.name, zeekTypeName(f)]));
  return {
    added: [...now.keys()].filter((n) => !old.has(n)),
    removed: [...old.keys()].filter((n) => !now.has(n)),
    retyped: [...now].filter(([n, t]) => old.has(n) && old.get(n) !== t).map(([n, t]) => `${n}: ${old.get(n)} -> ${t}`),
  };
}

/** JSON Schema type of one value of a Zeek type, as the gateway writes it. */
function valueSchema(type: number, subtype: number, timestamps: TimestampMode): Record<string, unknown> {
  switch (type) {
    case TypeTag.BOOL:
      return { type: 'boolean' };
    case TypeTag.INT:
    case TypeTag.COUNT:
    case TypeTag.PORT:
      return { type: 'integer' };
    case TypeTag.DOUBLE:
    case TypeTag.INTERVAL:
      return { type: ['number', 'null'] }; // NaN and infinities are written as null
    case TypeTag.TIME:
      if (timestamps === 'iso8601') return { type: 'string', format: 'date-time' };
      return timestamps === 'epoch' ? { type: ['number', 'null'] } : { type: 'integer' };
    case TypeTag.TABLE:
    case TypeTag.VECTOR:
      return { type: 'array', items: valueSchema(subtype, 0, timestamps) };
    default:
      return { type: 'string' }; // string, enum, addr, subnet, pattern, func, file
  }
}

/** How the PULL ingress writes records: the JSON Schema describes them as written. */
export interface RecordShape {
  readonly timestamps?: TimestampMode | undefined;
  /** Unset fields are written as null instead of left out. */
  readonly includeUnsetFields?: boolean | undefined;
  /** Keys renamed from the Zeek names (scope separator, field-name map). */
  readonly naming?: FieldNaming | undefined;
}

/** A value's schema that also admits null (an unset field written as null). */
function nullable(s: Record<string, unknown>): Record<string, unknown> {
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  return types.includes('null') ? s : { ...s, type: [...types, 'null'] };
}

/**
 * A JSON Schema (draft 2020-12) of one path's records, for index mappings, keyed by the names
 * the records are written with (`x-zeek-name` keeps the Zeek name of a renamed field). No field
 * is `required`: any column can be unset, even one not marked &optional (the fields of an
 * optional record, e.g. x509's basic_constraints.ca), and unset fields are left out (or null
 * with includeUnsetFields).
 */
export function jsonSchema(path: string, fields: readonly ZeekField[], shape: RecordShape = {}): Record<string, unknown> {
  const properties = fields.map((f) => {
    const value = valueSchema(f.type, f.subtype, shape.timestamps ?? 'epoch');
    const key = shape.naming === undefined ? undefined : renameField(f.name, shape.naming);
    const zeek = { 'x-zeek-type': zeekTypeName(f), ...(key === undefined ? {} : { 'x-zeek-name': f.name }) };
    return [key ?? f.name, { ...(shape.includeUnsetFields ? nullable(value) : value), ...zeek }];
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `zeek ${path}`,
    type: 'object',
    properties: Object.fromEntries(properties),
  };
}

/** Beyond this many (path, sender) pairs new ones are not tracked (hostile senders). */
const MAX_ENTRIES = 4096;

export class SchemaCatalog {
  private readonly byPath = new Map<string, Map<string, readonly ZeekField[]>>();
  private entries = 0;

  constructor(
    private readonly onChange: (diff: SchemaDiff) => void = () => {},
    private readonly shape: RecordShape = {},
  ) {}

  /** Records the schema of a batch; reports a change against this sender's previous schema of the path. */
  observe(path: string, sender: string, fields: readonly ZeekField[]): void {
    let senders = this.byPath.get(path);
    const last = senders?.get(sender);
    if (last === fields) return;
    if (last === undefined) {
      if (this.entries >= MAX_ENTRIES) return;
      this.entries++;
    } else {
      const d = diffFields(last, fields);
      if (d.added.length + d.removed.length + d.retyped.length === 0) {
        senders!.set(sender, fields); // same fields, new array (head cache eviction)
        return;
      }
      this.onChange({ path, sender, ...d });
    }
    if (senders === undefined) this.byPath.set(path, (senders = new Map()));
    senders.set(sender, fields);
  }

  paths(): string[] {
    return [...this.byPath.keys()].sort();
  }

  /** One path: fields and Zeek types per sender, plus a JSON Schema; undefined if never seen. */
  describe(path: string): Record<string, unknown> | undefined {
    const senders = this.byPath.get(path);
    if (senders === undefined) return undefined;
    const bySender = Object.fromEntries(
      [...senders].map(([s, fields]) => [s, fields.map((f) => ({ name: f.name, type: zeekTypeName(f), optional: f.optional }))]),
    );
    // The JSON Schema covers every field any sender has (senders differ during an upgrade).
    const union = new Map<string, ZeekField>();
    for (const fields of senders.values()) for (const f of fields) if (!union.has(f.name)) union.set(f.name, f);
    return { path, senders: bySender, jsonSchema: jsonSchema(path, [...union.values()], this.shape) };
  }

  snapshot(): Record<string, unknown> {
    return Object.fromEntries(this.paths().map((p) => [p, this.describe(p)]));
  }
}
