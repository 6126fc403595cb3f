/**
 * Environment variables for configuration: one rule for every scalar setting.
 * The name is the prefix plus the key path in upper snake case:
 * ingress.sub.receiveHighWaterMark → ZLG_INGRESS_SUB_RECEIVE_HIGH_WATER_MARK,
 * sinks.rabbitmq.password → ZLG_SINK_RABBITMQ_PASSWORD.
 */
export const ENV_PREFIX = 'ZLG';

export function envName(...path: string[]): string {
  return [ENV_PREFIX, ...path.map(snake)].join('_');
}

function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

interface SchemaLeaf {
  format?: unknown;
  default?: unknown;
  env?: string;
}

const isLeaf = (v: unknown): v is SchemaLeaf =>
  typeof v === 'object' && v !== null && Object.prototype.hasOwnProperty.call(v, 'default');

/** Formats that hold structures (routes, sink maps), which have no environment variable. */
const isStructure = (leaf: SchemaLeaf): boolean => leaf.format === Array || leaf.format === Object || leaf.format === '*';

/** Returns a copy of a convict schema with an `env` name on every scalar leaf. */
export function withEnv<T extends object>(schema: T, path: string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (isLeaf(value)) {
      out[key] = isStructure(value) ? value : { ...value, env: envName(...path, key) };
    } else if (typeof value === 'object' && value !== null) {
      out[key] = withEnv(value as object, [...path, key]);
    } else out[key] = value;
  }
  return out as T;
}

/** Every environment variable a schema defines, with its key path (for docs and checks). */
export function envVariables(schema: object, path: string[] = []): Array<{ key: string; env: string }> {
  const out: Array<{ key: string; env: string }> = [];
  for (const [key, value] of Object.entries(schema)) {
    if (isLeaf(value)) {
      if (value.env) out.push({ key: [...path, key].join('.'), env: value.env });
    } else if (typeof value === 'object' && value !== null) out.push(...envVariables(value as object, [...path, key]));
  }
  return out;
}
