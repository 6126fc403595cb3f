import convict from 'convict';
import { bufferSchema, spoolProblems, type BufferOptions, type SpoolConfig } from '../buffer/index.js';
import { ENVELOPES, type Envelope } from '../routing/envelope.js';
import { SINK_KINDS } from '../sinks/index.js';
import { withEnv } from './env.js';
import { convictProblems } from './problems.js';

/** One configured sink, validated against its kind's schema. */
export interface SinkConfig {
  name: string;
  type: string;
  enabled: boolean;
  /** Must be connected for /readyz. */
  required: boolean;
  envelope: Envelope;
  /** Its kind's address settings (exchange/routingKey, topic/keyField): defaults for its destinations. */
  addressing: Record<string, string>;
  buffer: BufferOptions;
  /** The kind's own options (connection, TLS, ...). */
  options: Record<string, unknown>;
  redacted(): Record<string, unknown>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

const commonSchema = {
  enabled: { doc: 'Set false to switch off a sink defined in an earlier config file.', format: Boolean, default: true },
  required: { doc: 'The sink must be connected for /readyz to report ready.', format: Boolean, default: true },
  envelope: {
    doc: 'Default envelope: tagged ({"<path>": record}), raw (the record as Zeek wrote it) or inline (_path first inside the record). Routes may override it.',
    format: ENVELOPES as unknown as string[],
    default: 'tagged',
  },
};

/** Convict splits keys at dots, so free-form maps with dotted keys travel as JSON text. */
function withPropertyMapsAsText(entry: Record<string, unknown>, keys: readonly string[] | undefined): Record<string, unknown> {
  if (!keys?.some((k) => typeof entry[k] === 'object' && entry[k] !== null)) return entry;
  const out = { ...entry };
  for (const k of keys) if (typeof out[k] === 'object' && out[k] !== null) out[k] = JSON.stringify(out[k]);
  return out;
}

/** Property names that can carry a secret (sasl.password, ssl.key.password, ssl.key.pem, sasl.oauthbearer.client.secret, ...). */
const SECRET_PROPERTY = /pass|secret|pem|key|token|jaas|oauthbearer|credential/i;

/**
 * A sink's redacted options with its free-form property maps as objects, each value whose
 * name can carry a secret replaced like convict's sensitive settings.
 */
function redactPropertyMaps(
  options: Record<string, unknown>,
  keys: readonly string[] | undefined,
  /** The value as configured (convict's own redaction hides all of a sensitive map). */
  valueOf: (key: string) => unknown,
): Record<string, unknown> {
  for (const k of keys ?? []) {
    let map = valueOf(k);
    if (typeof map === 'string') {
      try {
        map = map.trim() === '' ? {} : (JSON.parse(map) as unknown);
      } catch {
        map = '[Sensitive]';
      }
    }
    if (typeof map === 'object' && map !== null) {
      map = Object.fromEntries(Object.entries(map).map(([name, v]) => [name, SECRET_PROPERTY.test(name) ? '[Sensitive]' : v]));
    }
    options[k] = map;
  }
  return options;
}

/**
 * The raw `sinks` object with every kind's property maps as JSON text: needed before any
 * convict instance (the top-level one too) walks the sink entries.
 */
export function sinksForConvict(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const type = (entry as { type?: unknown } | null)?.type;
    const kind = typeof type === 'string' ? SINK_KINDS.get(type) : undefined;
    out[name] = kind && typeof entry === 'object' && entry !== null ? withPropertyMapsAsText(entry as Record<string, unknown>, kind.propertyMaps) : entry;
  }
  return out;
}

/** Every kind's address settings, in registration order: the keys routes and destinations may set. */
export function addressKeys(): string[] {
  return [...new Set([...SINK_KINDS.values()].flatMap((k) => Object.keys(k.addressing)))];
}

/** The buffer schema with a kind's own defaults (e.g. more AMQP batches awaiting confirms). */
function bufferSchemaOf(defaults: Partial<Record<keyof typeof bufferSchema, unknown>> | undefined): object {
  if (!defaults) return bufferSchema;
  const schema: Record<string, object> = { ...bufferSchema };
  for (const [key, value] of Object.entries(defaults)) schema[key] = { ...(schema[key] as object), default: value };
  return schema;
}

/** The convict schema of one sink of a kind, with its ZLG_SINK_<NAME>_… environment variables. */
export function sinkSchema(name: string, type: string): object {
  const kind = SINK_KINDS.get(type);
  if (!kind) throw new Error(`unknown sink type ${type}`);
  return withEnv(
    {
      type: { doc: 'Sink type.', format: [...SINK_KINDS.keys()], default: type },
      ...commonSchema,
      buffer: bufferSchemaOf(kind.bufferDefaults),
      ...kind.addressing,
      ...kind.schema,
    },
    ['sink', name],
  );
}

export function loadSinks(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): { configs: SinkConfig[]; problems: string[] } {
  const configs: SinkConfig[] = [];
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const at = `sinks.${name}`;
    if (!NAME.test(name)) {
      problems.push(`${at}: a sink name starts with a letter and has only letters, digits, - and _`);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${at}: must be an object`);
      continue;
    }
    const type = (entry as { type?: unknown }).type;
    const kind = typeof type === 'string' ? SINK_KINDS.get(type) : undefined;
    if (typeof type !== 'string' || !kind) {
      problems.push(`${at}.type: must be one of ${[...SINK_KINDS.keys()].join(', ')}`);
      continue;
    }
    const c = convict(sinkSchema(name, type), { env, args: [] });
    c.load(withPropertyMapsAsText(entry as Record<string, unknown>, kind.propertyMaps));
    try {
      c.validate({ allowed: 'strict' });
    } catch (err) {
      problems.push(...convictProblems(err as Error).map((p) => `${at}.${p}`));
      continue;
    }
    const all = c.getProperties() as Record<string, unknown>;
    const crossKey = [
      ...(kind.validate?.(all as never) ?? []),
      ...spoolProblems((all.buffer as { spool: SpoolConfig }).spool).map((p) => ({ ...p, key: `buffer.spool.${p.key}` })),
    ];
    if (crossKey.length > 0) {
      problems.push(...crossKey.map((p) => `${at}.${p.key}: ${p.message}`));
      continue;
    }
    const { type: _t, enabled, required, envelope, buffer, ...rest } = all;
    const addressing: Record<string, string> = {};
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rest)) {
      if (k in kind.addressing) addressing[k] = v as string;
      else options[k] = v;
    }
    configs.push({
      name,
      type,
      enabled: enabled as boolean,
      required: required as boolean,
      envelope: envelope as Envelope,
      buffer: buffer as BufferOptions,
      addressing,
      options,
      redacted: () => redactPropertyMaps(JSON.parse(c.toString()) as Record<string, unknown>, SINK_KINDS.get(type)?.propertyMaps, (k) => c.get(k as never) as unknown),
    });
  }
  return { configs, problems };
}
