import convict from 'convict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CurveConfigError, resolveCurveConfig, type CurveSettings, type ResolvedCurveConfig } from '../ingress/curve/index.js';
import type { SubIngressConfig } from '../ingress/zmq-sub.js';
import type { PullIngressConfig } from '../ingress/zmq-pull.js';
import { validateRoutes, type RoutingConfig } from '../routing/config.js';
import type { DeadLetterConfig } from '../routing/dead-letters.js';
import { unknownTemplateVariables } from '../routing/template.js';
import { registerFormats } from './formats.js';
import { parseFieldNameMap } from '../zeek/json/field-names.js';
import { schema } from './schema.js';
import { convictProblems } from './problems.js';
import { addressKeys, loadSinks, withoutRetiredOptions, type SinkConfig } from './sinks.js';

export interface GatewayConfig {
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  ingress: {
    sub: SubIngressConfig & { curve: CurveSettings; security: ResolvedCurveConfig };
    pull: PullIngressConfig & { curve: CurveSettings; security: ResolvedCurveConfig };
  };
  routing: RoutingConfig;
  deadLetter: DeadLetterConfig;
  sinks: SinkConfig[];
  http: {
    enabled: boolean;
    host: string;
    port: number;
    reload: { enabled: boolean; allowRemote: boolean };
    tap: { enabled: boolean; allowRemote: boolean; maxRate: number; defaultRate: number; maxClients: number };
  };
  shutdown: { lingerMs: number };
}

/** Invalid configuration: every problem, each naming its key. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

export interface LoadedConfig {
  config: GatewayConfig;
  /** The effective configuration with every secret replaced, for check-config. */
  redacted(): Record<string, unknown>;
}

/** The defaults shipped with the package, always loaded first. */
export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../config/default.json', import.meta.url));

registerFormats();

/**
 * Loads config/default.json, then each file in order (later wins; objects merge, arrays
 * are replaced), then environment variables (ZLG_…), and validates everything. Throws
 * ConfigError listing every problem.
 */
export function loadConfig(files: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const top = convict(schema, { env, args: [] });
  const problems: string[] = [];
  let merged: Record<string, unknown> = {};
  /** Sinks a file removed (`"name": null`), with the file, for the messages about routes that still use them. */
  const removedBy = new Map<string, string>();
  for (const file of [DEFAULT_CONFIG_FILE, ...files]) {
    try {
      const layer = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      merged = deepMerge(merged, layer);
      noteRemovedSinks(layer, file, removedBy);
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  if ('sinks' in merged) {
    const { sinks, problems: retired } = withoutRetiredOptions(withoutRemoved(merged.sinks));
    merged = { ...merged, sinks };
    problems.push(...retired);
  }
  top.load(withDottedMapsAsText(merged));
  try {
    top.validate({ allowed: 'strict' });
  } catch (err) {
    problems.push(...convictProblems(err as Error));
  }
  const sinks = loadSinks(top.get('sinks') as Record<string, unknown>, env);
  problems.push(...sinks.problems);
  const routing = top.get('routing') as RoutingConfig;
  const enabledSinks = new Set(sinks.configs.filter((s) => s.enabled).map((s) => s.name));
  const unavailable = new Map<string, string>();
  for (const [name, file] of removedBy) {
    unavailable.set(name, `sink ${JSON.stringify(name)} is removed ("sinks": {${JSON.stringify(name)}: null} in ${file}); set routing.routes (and routing.defaultRoute) without it`);
  }
  for (const s of sinks.configs) {
    if (!s.enabled) unavailable.set(s.name, `sink ${JSON.stringify(s.name)} is switched off (sinks.${s.name}.enabled is false)`);
  }
  problems.push(...validateRoutes(routing.routes, routing.defaultRoute, enabledSinks, addressKeys(), unavailable));
  const deadLetter = top.get('deadLetter') as DeadLetterConfig;
  if (deadLetter.sink !== '' && !enabledSinks.has(deadLetter.sink)) {
    problems.push(
      `deadLetter.sink: ${unavailable.get(deadLetter.sink) ?? `unknown sink ${JSON.stringify(deadLetter.sink)} (configured: ${[...enabledSinks].join(', ') || 'none'})`}`,
    );
  }
  for (const k of ['exchange', 'routingKey', 'topic'] as const) {
    const bad = unknownTemplateVariables(deadLetter[k]);
    if (bad.length) problems.push(`deadLetter.${k}: unknown template variable {${bad.join('}, {')}}`);
  }
  if (problems.length) throw new ConfigError(problems);

  const ingress = top.get('ingress') as unknown as GatewayConfig['ingress'];
  // Validated by its format; held as JSON text (see withDottedMapsAsText).
  ingress.pull.json.fieldNameMap = parseFieldNameMap(ingress.pull.json.fieldNameMap);
  if (!ingress.sub.enabled && !ingress.pull.enabled) problems.push('ingress: enable ingress.sub or ingress.pull (or both)');
  for (const name of ['sub', 'pull'] as const) {
    const section = ingress[name];
    try {
      // Zeek's CURVE variables describe the cluster backend, i.e. the PULL ingress; the NCSA plugin has no CURVE.
      const curveEnv = name === 'pull' ? env : {};
      section.security = section.enabled
        ? resolveCurveConfig(section.curve, curveEnv, { setting: `ingress.${name}.curve` })
        : { enabled: false, warnings: [] };
    } catch (err) {
      if (!(err instanceof CurveConfigError)) throw err;
      problems.push(...err.problems.map((p) => `${p.setting}: ${p.message}`));
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const config: GatewayConfig = {
    log: top.get('log') as GatewayConfig['log'],
    ingress,
    routing,
    deadLetter,
    sinks: sinks.configs,
    http: top.get('http') as GatewayConfig['http'],
    shutdown: top.get('shutdown') as GatewayConfig['shutdown'],
  };
  return {
    config,
    redacted() {
      const out = JSON.parse(top.toString()) as Record<string, unknown>;
      (out.ingress as GatewayConfig['ingress']).pull.json.fieldNameMap = ingress.pull.json.fieldNameMap;
      out.sinks = Object.fromEntries(sinks.configs.map((s) => [s.name, s.redacted()]));
      return out;
    },
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Settings whose value is a map with dotted keys (`id.orig_h`), read from JSON text after validation. */
const DOTTED_MAPS = [['ingress', 'pull', 'json', 'fieldNameMap']] as const;

/** Convict splits keys at dots, so the dotted maps travel as JSON text (like the sinks' property maps). */
function withDottedMapsAsText(config: Record<string, unknown>): Record<string, unknown> {
  let out = config;
  for (const path of DOTTED_MAPS) {
    const parents: Record<string, unknown>[] = [];
    let node: unknown = out;
    for (const k of path.slice(0, -1)) {
      if (!isPlainObject(node)) break;
      parents.push(node);
      node = node[k];
    }
    const last = path[path.length - 1]!;
    if (parents.length !== path.length - 1 || !isPlainObject(node) || !isPlainObject(node[last])) continue;
    // Copy the objects along the path: the merged layers stay untouched.
    let value: Record<string, unknown> = { ...node, [last]: JSON.stringify(node[last]) };
    for (let i = parents.length - 1; i >= 0; i--) value = { ...parents[i]!, [path[i]!]: value };
    out = value;
  }
  return out;
}

/**
 * Later files win: objects merge key by key (so a file can change one option of a sink
 * defined earlier), anything else (arrays such as routes, scalars) is replaced.
 */
export function deepMerge(base: Record<string, unknown>, over: unknown): Record<string, unknown> {
  if (!isPlainObject(over)) throw new Error('a configuration file must hold a JSON object');
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/**
 * A file removes a sink defined before it (the shipped `rabbitmq` and `kafka` ones, say) with
 * `"sinks": {"rabbitmq": null}`, as in a JSON merge patch; a later file may define it again.
 */
function noteRemovedSinks(layer: unknown, file: string, removedBy: Map<string, string>): void {
  const sinks = isPlainObject(layer) ? layer.sinks : undefined;
  if (!isPlainObject(sinks)) return;
  for (const [name, value] of Object.entries(sinks)) {
    if (value === null) removedBy.set(name, file);
    else removedBy.delete(name);
  }
}

/** The merged `sinks` without the ones a file removed. */
function withoutRemoved(sinks: unknown): unknown {
  return isPlainObject(sinks) ? Object.fromEntries(Object.entries(sinks).filter(([, v]) => v !== null)) : sinks;
}

