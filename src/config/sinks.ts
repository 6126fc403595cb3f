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

/**
 * The raw `sinks` object without the options their kinds retired, and a problem naming each one
 * found: needed before any convict instance (the top-level one too) walks the sink entries.
 */
export function withoutRetiredOptions(raw: unknown): { sinks: unknown; problems: string[] } {
  const problems: string[] = [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { sinks: raw, problems };
  const sinks: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw)) {
    const type = (entry as { type?: unknown } | null)?.type;
    const retired = typeof type === 'string' ? SINK_KINDS.get(type)?.retired : undefined;
    if (!retired || typeof entry !== 'object' || entry === null) {
      sinks[name] = entry;
      continue;
    }
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entry)) {
      const why = Object.hasOwn(retired, key) ? retired[key] : undefined;
      if (why === undefined) kept[key] = value;
      else problems.push(`sinks.${name}.${key}: ${why}`);
    }
    sinks[name] = kept;
  }
  return { sinks, problems };
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
    c.load(entry);
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
      redacted: () => JSON.parse(c.toString()) as Record<string, unknown>,
    });
  }
  return { configs, problems };
}
