import { ENVELOPES, type Envelope } from './envelope.js';
import { TIMESTAMP_MODES, type TimestampMode } from '../zeek/types.js';
import { fieldNameMapProblem } from '../zeek/json/field-names.js';
import { unknownTemplateVariables } from './template.js';

/**
 * Address options a route or destination may set; each overrides the sink's own
 * default (TRAPMINE's convention: per-filter options override the global ones).
 * Besides the output options (envelope, field names, time formats: the payload's shape),
 * the keys are the sink kinds' address settings (exchange, routingKey, topic, keyField):
 * strings, templates over the log path.
 */
export interface AddressOptions {
  envelope?: Envelope | undefined;
  /** Inline envelope: `_system_name` ('' none, `{sender}` the sender node, else literal). */
  systemName?: string | undefined;
  /** Inline envelope: add `_write_ts` (receive time, in `timestamps` format). */
  writeTs?: boolean | undefined;
  /** Format of `_write_ts` and of the `timeFields` converted on this route (records arrive as epoch). */
  timestamps?: TimestampMode | undefined;
  /** Top-level fields converted from epoch to `timestamps` on this route (default ['ts']). */
  timeFields?: string[] | undefined;
  /** Replaces `.` in top-level field names (Zeek's Log::default_scope_sep), e.g. `_`. */
  scopeSeparator?: string | undefined;
  /** Renames top-level fields, applied after scopeSeparator (Zeek's Log::default_field_name_map). */
  fieldNameMap?: Record<string, string> | undefined;
  /** The sink kinds' address settings, validated as strings by validateRoutes. */
  [setting: string]: unknown;
}

/** The options that shape a route's payload bytes (as opposed to its address). */
export const OUTPUT_KEYS = ['envelope', 'systemName', 'writeTs', 'timestamps', 'timeFields', 'scopeSeparator', 'fieldNameMap'] as const;
export type OutputOptions = Pick<AddressOptions, (typeof OUTPUT_KEYS)[number]>;

export interface DestinationConfig extends AddressOptions {
  sink: string;
}

export interface RouteConfig extends AddressOptions {
  name?: string | undefined;
  /** Log paths or globs (`conn`, `dns*`). */
  match: string[];
  exclude?: string[] | undefined;
  destinations: DestinationConfig[];
  /** Also evaluate the routes after this one when it matched (default: first match wins). */
  continue?: boolean | undefined;
}

export interface DefaultRouteConfig extends AddressOptions {
  destinations: DestinationConfig[];
}

export interface RoutingConfig {
  /** Like the plugin's send_logs: when non-empty, only these paths (globs) are routed. */
  include: string[];
  /** Like the plugin's excluded_log_ids: these paths (globs) are never routed. */
  exclude: string[];
  /** Route `dns-2` as `dns` (Zeek adds -N when several filters of one writer share a path). */
  stripFilterSuffix: boolean;
  routes: RouteConfig[];
  /** Where paths no route matched go; null drops them (counted as unrouted). */
  defaultRoute: DefaultRouteConfig | null;
}

interface Allowed {
  route: ReadonlySet<string>;
  defaultRoute: ReadonlySet<string>;
  destination: ReadonlySet<string>;
  /** The sink kinds' address settings. */
  address: readonly string[];
}

function allowedKeys(addressKeys: readonly string[]): Allowed {
  const address = [...OUTPUT_KEYS, ...addressKeys];
  return {
    route: new Set(['name', 'match', 'exclude', 'destinations', 'continue', ...address]),
    defaultRoute: new Set(['destinations', ...address]),
    destination: new Set(['sink', ...address]),
    address: addressKeys,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');

/**
 * Checks the routes and default route (convict validates the scalar parts). Returns
 * one message per problem, each naming the key, e.g. `routing.routes[1].destinations[0].sink`.
 * `addressKeys` are the address settings of the sink kinds (exchange, routingKey, topic, keyField).
 */
export function validateRoutes(
  routes: unknown,
  defaultRoute: unknown,
  sinkNames: ReadonlySet<string>,
  addressKeys: readonly string[],
  /** Why a sink that routes name cannot be used (removed or switched off by a config file), by name. */
  unavailable: ReadonlyMap<string, string> = new Map(),
): string[] {
  const errors: string[] = [];
  const allowed = allowedKeys(addressKeys);
  const sinks = { names: sinkNames, unavailable };
  if (!Array.isArray(routes)) {
    errors.push('routing.routes: must be an array of routes');
  } else {
    routes.forEach((r, i) => validateRoute(r, `routing.routes[${i}]`, allowed.route, allowed, sinks, errors));
  }
  if (defaultRoute !== null) validateRoute(defaultRoute, 'routing.defaultRoute', allowed.defaultRoute, allowed, sinks, errors);
  return errors;
}

interface KnownSinks {
  names: ReadonlySet<string>;
  unavailable: ReadonlyMap<string, string>;
}

function validateRoute(
  r: unknown,
  at: string,
  keys: ReadonlySet<string>,
  allowed: Allowed,
  sinks: KnownSinks,
  errors: string[],
): void {
  if (!isObject(r)) {
    errors.push(`${at}: must be an object`);
    return;
  }
  for (const k of Object.keys(r)) if (!keys.has(k)) errors.push(`${at}.${k}: unknown key`);
  if (keys.has('match')) {
    if (!isStringArray(r.match) || r.match.length === 0) errors.push(`${at}.match: must be a non-empty array of paths or globs`);
    if (r.exclude !== undefined && !isStringArray(r.exclude)) errors.push(`${at}.exclude: must be an array of paths or globs`);
    if (r.continue !== undefined && typeof r.continue !== 'boolean') errors.push(`${at}.continue: must be true or false`);
    if (r.name !== undefined && typeof r.name !== 'string') errors.push(`${at}.name: must be a string`);
  }
  validateAddress(r, at, allowed.address, errors);
  if (!Array.isArray(r.destinations) || r.destinations.length === 0) {
    errors.push(`${at}.destinations: must be a non-empty array`);
    return;
  }
  r.destinations.forEach((d: unknown, j: number) => {
    const dat = `${at}.destinations[${j}]`;
    if (!isObject(d)) {
      errors.push(`${dat}: must be an object`);
      return;
    }
    for (const k of Object.keys(d)) if (!allowed.destination.has(k)) errors.push(`${dat}.${k}: unknown key`);
    if (typeof d.sink !== 'string' || !sinks.names.has(d.sink)) {
      const why = typeof d.sink === 'string' ? sinks.unavailable.get(d.sink) : undefined;
      errors.push(`${dat}.sink: ${why ?? `unknown sink ${JSON.stringify(d.sink)} (configured: ${[...sinks.names].join(', ') || 'none'})`}`);
    }
    validateAddress(d, dat, allowed.address, errors);
  });
}

function validateAddress(o: Record<string, unknown>, at: string, addressKeys: readonly string[], errors: string[]): void {
  if (o.envelope !== undefined && !ENVELOPES.includes(o.envelope as Envelope)) {
    errors.push(`${at}.envelope: must be one of ${ENVELOPES.join(', ')}`);
  }
  validateOutput(o, at, errors);
  for (const k of addressKeys) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') {
      errors.push(`${at}.${k}: must be a string`);
      continue;
    }
    const bad = unknownTemplateVariables(v);
    if (bad.length) errors.push(`${at}.${k}: unknown template variable {${bad.join('}, {')}}`);
  }
}

function validateOutput(o: Record<string, unknown>, at: string, errors: string[]): void {
  for (const k of ['systemName', 'scopeSeparator'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') errors.push(`${at}.${k}: must be a string`);
  }
  if (o.writeTs !== undefined && typeof o.writeTs !== 'boolean') errors.push(`${at}.writeTs: must be true or false`);
  if (o.timestamps !== undefined && !TIMESTAMP_MODES.includes(o.timestamps as TimestampMode)) {
    errors.push(`${at}.timestamps: must be one of ${TIMESTAMP_MODES.join(', ')}`);
  }
  if (o.timeFields !== undefined && !isStringArray(o.timeFields)) errors.push(`${at}.timeFields: must be an array of field names`);
  const mapProblem = o.fieldNameMap === undefined ? undefined : fieldNameMapProblem(o.fieldNameMap);
  if (mapProblem) errors.push(`${at}.fieldNameMap: ${mapProblem}`);
}
