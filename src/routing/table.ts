import type { AddressSettings, DestinationAddress } from '../sinks/kind.js';
import { compileGlob, matchesAny } from './glob.js';
import { OUTPUT_KEYS, type AddressOptions, type DestinationConfig, type OutputOptions, type RoutingConfig } from './config.js';
import type { Envelope } from './envelope.js';
import { renderTemplate, type TemplateVars } from './template.js';

/** What the routing table needs to know about a sink: its address defaults and its kind's address rule. */
export interface SinkAddressing {
  readonly name: string;
  readonly envelope: Envelope;
  /** The sink's own address settings (its kind's keys): the defaults of its destinations. */
  readonly defaults: Readonly<Record<string, string | undefined>>;
  /** The kind's rule: a destination's address from its resolved settings. */
  readonly address: (settings: AddressSettings) => DestinationAddress;
}

/** One destination of one path, fully resolved. */
export interface ResolvedDestination {
  readonly sink: string;
  readonly envelope: Envelope;
  /**
   * Everything that shapes the payload bytes (envelope included) when a route sets more
   * than the envelope; equal formats share one payload per record.
   */
  readonly format?: OutputOptions | undefined;
  readonly target: string;
  readonly routingKey?: string | undefined;
  /** Field whose value becomes the Kafka message key, if any. */
  readonly keyField?: string | undefined;
  /** The route that chose it: its name, `#<n>` for an unnamed one, `default` for the default route. */
  readonly route?: string | undefined;
}

export type UnroutedReason = 'excluded' | 'not-included' | 'no-route';

export interface PathPlan {
  /** The path used for routing, templates and the envelope tag. */
  readonly path: string;
  readonly destinations: readonly ResolvedDestination[];
  readonly unrouted?: UnroutedReason | undefined;
}

interface CompiledRoute {
  readonly name: string;
  readonly match: RegExp[];
  readonly exclude: RegExp[];
  readonly options: AddressOptions;
  readonly destinations: readonly DestinationConfig[];
  readonly continue: boolean;
}

const FILTER_SUFFIX = /-\d+$/;

/**
 * The compiled routing table. Routes are evaluated in order; the first match wins
 * unless it says `continue`. Paths are few, so plans are computed once per path.
 */
export class RoutingTable {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];
  private readonly routes: CompiledRoute[];
  private readonly defaultRoute: CompiledRoute | undefined;

  constructor(
    private readonly config: RoutingConfig,
    private readonly sinks: ReadonlyMap<string, SinkAddressing>,
  ) {
    this.include = config.include.map(compileGlob);
    this.exclude = config.exclude.map(compileGlob);
    this.routes = config.routes.map((r, i) => ({
      name: r.name ?? `#${i + 1}`,
      match: r.match.map(compileGlob),
      exclude: (r.exclude ?? []).map(compileGlob),
      options: r,
      destinations: r.destinations,
      continue: r.continue ?? false,
    }));
    const d = config.defaultRoute;
    this.defaultRoute = d ? { name: 'default', match: [], exclude: [], options: d, destinations: d.destinations, continue: false } : undefined;
  }

  plan(rawPath: string): PathPlan {
    const path = this.config.stripFilterSuffix ? rawPath.replace(FILTER_SUFFIX, '') : rawPath;
    if (this.include.length > 0 && !matchesAny(this.include, path)) return { path, destinations: [], unrouted: 'not-included' };
    if (matchesAny(this.exclude, path)) return { path, destinations: [], unrouted: 'excluded' };

    const vars: TemplateVars = { path, rawPath };
    const out: ResolvedDestination[] = [];
    let matched = false;
    for (const route of this.routes) {
      if (!matchesAny(route.match, path) || matchesAny(route.exclude, path)) continue;
      matched = true;
      for (const d of route.destinations) out.push({ ...this.resolve(d, route.options, vars), route: route.name });
      if (!route.continue) break;
    }
    if (!matched && this.defaultRoute) {
      for (const d of this.defaultRoute.destinations) out.push({ ...this.resolve(d, this.defaultRoute.options, vars), route: 'default' });
    }
    return out.length > 0 ? { path, destinations: out } : { path, destinations: [], unrouted: 'no-route' };
  }

  /** Destination options beat route options, which beat the sink's defaults; the sink's kind makes the address. */
  private resolve(d: DestinationConfig, route: AddressOptions, vars: TemplateVars): ResolvedDestination {
    const sink = this.sinks.get(d.sink);
    if (!sink) throw new Error(`unknown sink ${d.sink}`); // config validation rejects this earlier
    const pick = (k: string): string => (d[k] ?? route[k] ?? sink.defaults[k] ?? '') as string;
    const envelope = d.envelope ?? route.envelope ?? sink.envelope;
    const address = sink.address({ path: vars.path, value: pick, template: (k) => renderTemplate(pick(k), vars) });
    return { sink: sink.name, envelope, ...outputFormat(envelope, d, route), ...address };
  }
}

/**
 * The payload's shape when the destination or its route sets more than the envelope (the
 * output options are route settings; a sink only defaults the envelope).
 */
function outputFormat(envelope: Envelope, d: AddressOptions, route: AddressOptions): { format?: OutputOptions } {
  const shaped: Record<string, unknown> = { envelope };
  for (const k of OUTPUT_KEYS) {
    const v = k === 'envelope' ? undefined : d[k] ?? route[k];
    if (v !== undefined) shaped[k] = v;
  }
  return Object.keys(shaped).length > 1 ? { format: shaped as OutputOptions } : {};
}
