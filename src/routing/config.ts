import { ENVELOPES, type Envelope } from './envelope.js';
import type { TimestampMode } from '../zeek/types.js';
import { unknownTemplateVariables } from './template.js';

/**
 * Address options a route or destination may set; each overrides the sink's own
 * default (TRAPMINE's convention: per-filter options override the global ones).
 * Strings are templates over the log path.
 */
export interface AddressOptions {
  envelope?: Envelope | undefined;
  /** AMQP exchange. */
  exchange?: string | undefined;
  /** AMQP routing key. */
  routingKey?: string | undefined;
  /** Kafka topic. */
  topic?: string | undefined;
  /** Kafka message key: the name of a record field (e.g. `uid`, its name before renaming); '' for no key. */
  keyField?: string | undefined;
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
}

/** The options that shape a route's payload bytes (as opposed to its address). */
export const OUTPUT_KEYS = ['envelope', 'systemName', 'writeTs', 'timestamps', 'timeFields', 'scopeSeparator', 'fieldNameMap'] as const;
export type OutputOptions = Pick<AddressOptions, (typeof OUTPUT_KEYS)[number]>;
const TIMESTAMP_MODES: readonly string[] = ['epoch', 'millis', 'millis-unsigned', 'iso8601'];

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

const ADDRESS_KEYS = ['exchange', 'routingKey', 'topic', 'keyField', ...OUTPUT_KEYS] as const;
const ROUTE_KEYS = new Set<string>(['name', 'match', 'exclude', 'destinations', 'continue', ...ADDRESS_KEYS]);
const DEFAULT_ROUTE_KEYS = new Set<string>(['destinations', ...ADDRESS_KEYS]);
const DESTINATION_KEYS = new Set<string>(['sink', ...ADDRESS_KEYS]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');

/**
 * Checks the routes and default route (convict validates the scalar parts). Returns
 * one message per problem, each naming the key, e.g. `routing.routes[1].destinations[0].sink`.
 */
export function validateRoutes(routes: unknown, defaultRoute: unknown, sinkNames: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  if (!Array.isArray(routes)) {
    errors.push('routing.routes: must be an array of routes');
  } else {
    routes.forEach((r, i) => validateRoute(r, `routing.routes[${i}]`, ROUTE_KEYS, sinkNames, errors));
  }
  if (defaultRoute !== null) validateRoute(defaultRoute, 'routing.defaultRoute', DEFAULT_ROUTE_KEYS, sinkNames, errors);
  return errors;
}

function validateRoute(r: unknown, at: string, allowed: Set<string>, sinks: ReadonlySet<string>, errors: string[]): void {
  if (!isObject(r)) {
    errors.push(`${at}: must be an object`);
    return;
  }
  for (const k of Object.keys(r)) if (!allowed.has(k)) errors.push(`${at}.${k}: unknown key`);
  if (allowed.has('match')) {
    if (!isStringArray(r.match) || r.match.length === 0) errors.push(`${at}.match: must be a non-empty array of paths or globs`);
    if (r.exclude !== undefined && !isStringArray(r.exclude)) errors.push(`${at}.exclude: must be an array of paths or globs`);
    if (r.continue !== undefined && typeof r.continue !== 'boolean') errors.push(`${at}.continue: must be true or false`);
    if (r.name !== undefined && typeof r.name !== 'string') errors.push(`${at}.name: must be a string`);
  }
  validateAddress(r, at, errors);
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
    for (const k of Object.keys(d)) if (!DESTINATION_KEYS.has(k)) errors.push(`${dat}.${k}: unknown key`);
    if (typeof d.sink !== 'string' || !sinks.has(d.sink)) {
      errors.push(`${dat}.sink: unknown sink ${JSON.stringify(d.sink)} (configured: ${[...sinks].join(', ') || 'none'})`);
    }
    validateAddress(d, dat, errors);
  });
}

function validateAddress(o: Record<string, unknown>, at: string, errors: string[]): void {
  if (o.envelope !== undefined && !ENVELOPES.includes(o.envelope as Envelope)) {
    errors.push(`${at}.envelope: must be one of ${ENVELOPES.join(', ')}`);
  }
  validateOutput(o, at, errors);
  for (const k of ['exchange', 'routingKey', 'topic', 'keyField'] as const) {
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
  if (o.timestamps !== undefined && !TIMESTAMP_MODES.includes(o.timestamps as string)) {
    errors.push(`${at}.timestamps: must be one of ${TIMESTAMP_MODES.join(', ')}`);
  }
  if (o.timeFields !== undefined && !isStringArray(o.timeFields)) errors.push(`${at}.timeFields: must be an array of field names`);
  const map = o.fieldNameMap;
  if (map !== undefined && (!isObject(map) || Object.values(map).some((v) => typeof v !== 'string' || v === ''))) {
    errors.push(`${at}.fieldNameMap: must map field names to non-empty new names`);
  }
}
