import type { GatewayConfig } from './load.js';
import type { SinkConfig } from './sinks.js';

/** What a reload changed, for the log and the POST /-/reload answer. */
export interface ReloadSummary {
  changed: boolean;
  sinksAdded: string[];
  sinksRemoved: string[];
  sinksReplaced: string[];
  ingressesRebound: string[];
  /** Changed settings that keep their running value until a restart. */
  needRestart: string[];
}

/** What a reload has to do to get from the running configuration to the new one. */
export interface ConfigDiff {
  sinks: {
    /** New sinks (or sinks enabled again). */
    added: SinkConfig[];
    /** Sinks gone or disabled. */
    removed: string[];
    /** Sinks whose connection, buffer or kind changed: a new instance replaces the old. */
    replaced: SinkConfig[];
  };
  /** Ingress sections whose sockets must be re-bound (endpoints, options, CURVE keys). */
  ingress: Array<'sub' | 'pull'>;
  logLevel: boolean;
  /** Changed settings that only a restart applies, by key. */
  restartOnly: string[];
  /** Anything at all changed (routes and dead letters are rebuilt on every reload; they are cheap). */
  changed: boolean;
}

/**
 * The part of a sink that lives in its instance: kind, connection options, buffer and
 * readiness. Addressing and envelope belong to the routing table, which is rebuilt anyway.
 */
function instanceFingerprint(s: SinkConfig): string {
  return JSON.stringify({ type: s.type, required: s.required, buffer: s.buffer, options: s.options });
}

/**
 * A setting as comparable text. Sets (the CURVE allowlist read from its file) count by their
 * members: JSON.stringify would write every Set as {}.
 */
const canonical = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...(v as Set<string>)].sort() : v));

const enabledSinks = (c: GatewayConfig): Map<string, SinkConfig> => new Map(c.sinks.filter((s) => s.enabled).map((s) => [s.name, s]));

/** Settings a running gateway cannot take over, and why (README, "Reloading the configuration"). */
export const RESTART_ONLY: Readonly<Record<string, (c: GatewayConfig) => unknown>> = {
  // The listener that serves POST /-/reload and the tap; re-binding it from inside a request is
  // not worth the risk of losing the only way in.
  http: (c) => c.http,
};

export function diffConfig(running: GatewayConfig, next: GatewayConfig): ConfigDiff {
  const before = enabledSinks(running);
  const after = enabledSinks(next);
  const added: SinkConfig[] = [];
  const replaced: SinkConfig[] = [];
  for (const [name, s] of after) {
    const old = before.get(name);
    if (!old) added.push(s);
    else if (instanceFingerprint(old) !== instanceFingerprint(s)) replaced.push(s);
  }
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const ingress = (['sub', 'pull'] as const).filter((k) => canonical(running.ingress[k]) !== canonical(next.ingress[k]));
  const restartOnly = Object.entries(RESTART_ONLY)
    .filter(([, get]) => JSON.stringify(get(running)) !== JSON.stringify(get(next)))
    .map(([key]) => key);
  const sameRest =
    JSON.stringify([running.routing, running.deadLetter, running.shutdown, [...before.values()].map(describe)]) ===
    JSON.stringify([next.routing, next.deadLetter, next.shutdown, [...after.values()].map(describe)]);
  const logLevel = running.log.level !== next.log.level;
  return {
    sinks: { added, removed, replaced },
    ingress,
    logLevel,
    restartOnly,
    changed: !sameRest || added.length + removed.length + replaced.length + ingress.length + restartOnly.length > 0 || logLevel,
  };
}

const describe = (s: SinkConfig): unknown => [s.name, s.envelope, s.addressing, instanceFingerprint(s)];
