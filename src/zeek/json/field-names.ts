/**
 * Zeek's field renaming options: `Log::default_scope_sep` replaces the `.` between a
 * record field and its sub-fields (`id.orig_h` -> `id_orig_h`), and
 * `Log::default_field_name_map` then renames whole names. Used when writing cluster
 * records (renamed key table per schema, free per record) and by the route rewriter.
 */
export interface FieldNaming {
  /** Replaces `.` in field names; '.' (or unset) keeps them, '' joins the names with nothing, as Zeek does. */
  readonly scopeSeparator?: string | undefined;
  /** Renames fields after the separator is applied. */
  readonly fieldNameMap?: Readonly<Record<string, string>> | undefined;
}

/** The new name of a field under `naming`, or undefined when it keeps its name. */
export function renameField(name: string, naming: FieldNaming): string | undefined {
  const sep = naming.scopeSeparator;
  const scoped = sep !== undefined && sep !== '.' ? name.split('.').join(sep) : name;
  const map = naming.fieldNameMap;
  const mapped = map !== undefined && Object.hasOwn(map, scoped) ? map[scoped]! : scoped;
  return mapped === name ? undefined : mapped;
}

/** True when `naming` renames something. */
export function renames(naming: FieldNaming): boolean {
  const sep = naming.scopeSeparator;
  return (sep !== undefined && sep !== '.') || Object.keys(naming.fieldNameMap ?? {}).length > 0;
}

/**
 * A field-name map as configured: an object, or its JSON text (the environment, and the config
 * loader, which hands maps with dotted keys such as `id.orig_h` to convict as text).
 */
export function parseFieldNameMap(v: unknown): Record<string, string> {
  const map = typeof v === 'string' ? (v.trim() === '' ? {} : (JSON.parse(v) as unknown)) : v;
  const ok = typeof map === 'object' && map !== null && !Array.isArray(map) && Object.values(map).every((x) => typeof x === 'string' && x !== '');
  if (!ok) throw new Error('must map field names to non-empty new names');
  return map as Record<string, string>;
}

/** Why `v` is not a field-name map (see {@link parseFieldNameMap}), or undefined. */
export function fieldNameMapProblem(v: unknown): string | undefined {
  try {
    parseFieldNameMap(v);
    return undefined;
  } catch (err) {
    return err instanceof SyntaxError ? `must be a JSON object of field names to new names (${err.message})` : (err as Error).message;
  }
}
