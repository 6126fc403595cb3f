import convict from 'convict';
import { bufferSchema, spoolProblems, type BufferOptions, type SpoolConfig } from '../buffer/index.js';
import type { AddressOptions } from '../routing/config.js';
import { ENVELOPES, type Envelope } from '../routing/envelope.js';
import { SINK_KINDS } from '../sinks/index.js';
import { withEnv } from './env.js';
import { convictProblems } from './load.js';

/** One configured sink, validated against its kind's schema. */
export interface SinkConfig {
  name: string;
  type: string;
  enabled: boolean;
  /** Must be connected for /readyz. */
  required: boolean;
  envelope: Envelope;
  addressing: AddressOptions;
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
    doc: 'Default envelope: tagged ({"<path>": record}) or raw (the record as Zeek wrote it). Routes may override it.',
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
    if (typeof type !== 'string' || !SINK_KINDS.has(type)) {
      problems.push(`${at}.type: must be one of ${[...SINK_KINDS.keys()].join(', ')}`);
      continue;
    }
    const c = convict(sinkSchema(name, type), { env, args: [] });
    c.load(withPropertyMapsAsText(entry as Record<string, unknown>, SINK_KINDS.get(type)?.propertyMaps));
    try {
      c.validate({ allowed: 'strict' });
    } catch (err) {
      problems.push(...convictProblems(err as Error).map((p) => `${at}.${p}`));
      continue;
    }
    const all = c.getProperties() as Record<string, unknown>;
    const crossKey = [
      ...(SINK_KINDS.get(type)?.validate?.(all as never) ?? []),
      ...spoolProblems((all.buffer as { spool: SpoolConfig }).spool).map((p) => ({ ...p, key: `buffer.spool.${p.key}` })),
    ];
    if (crossKey.length > 0) {
      problems.push(...crossKey.map((p) => `${at}.${p.key}: ${p.message}`));
      continue;
    }
    const { type: _t, enabled, required, envelope, buffer, exchange, routingKey, topic, keyField, ...options } = all;
    configs.push({
      name,
      type,
      enabled: enabled as boolean,
      required: required as boolean,
      envelope: envelope as Envelope,
      buffer: buffer as BufferOptions,
      addressing: { exchange, routingKey, topic, keyField } as AddressOptions,
      options,
      redacted: () => JSON.parse(c.toString()) as Record<string, unknown>,
    });
  }
  return { configs, problems };
}
