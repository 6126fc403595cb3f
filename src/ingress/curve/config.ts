// CURVE config of one ingress socket: the schema fragment, and the resolver that checks it and
// reads keys from the config, files and Zeek's environment variables.
// Zeek's side of the contract: wire-format doc §7. The gateway is a CURVE *server* (it binds);
// Zeek senders pin its public key (curve_server_publickey) and prove their client key, which
// the ZAP handler (zap.ts) checks against a per-socket allowlist.
import { readFileSync, statSync } from 'node:fs';
import type { Schema } from 'convict';
import { curveKeyProblem, curvePublicKeyFromSecret } from './keys.js';
import type { ZapClientPolicy } from './zap.js';

/** The variables a Zeek cluster reads (ZeroMQ.cc); one env file can serve Zeek and the gateway. */
export const ZEEK_ENV = {
  serverSecretKey: 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_SECRETKEY',
  serverPublicKey: 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_PUBLICKEY',
  clientPublicKey: 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY',
} as const;

// ---------------------------------------------------------------------------------------------
// Config

/** One ingress socket's CURVE settings, as the schema fragment below describes them. */
export interface CurveSettings {
  enabled: boolean;
  serverSecretKey: string;
  serverSecretKeyFile: string;
  allowedClientKeys: string[];
  allowedClientKeysFile: string;
  allowAnyClient: boolean;
}

// Format checks run at config validation time; the resolver checks again with full context.
function optionalKeyFormat(value: unknown): void {
  if (value === '' || value === null || value === undefined) return;
  const problem = curveKeyProblem(value);
  if (problem) throw new Error(problem);
}
function keyListFormat(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be an array of Z85 CURVE public keys');
  value.forEach((key, i) => {
    const problem = curveKeyProblem(key);
    if (problem) throw new Error(`[${i}] ${problem}${typeof key === 'string' ? `: "${key}"` : ''}`);
  });
}

/** Convict schema fragment for one ingress's `curve` section. */
export const curveSchema: Schema<CurveSettings> = {
  enabled: {
    doc:
      'Run this ingress as a CURVE server (encrypted). Zeek senders then need ' +
      'curve_server_publickey = the public key the gateway logs at startup.',
    format: Boolean,
    default: false,
  },
  serverSecretKey: {
    doc:
      "The server's Z85 secret key (40 chars): Zeek's curve_server_secretkey. Prefer " +
      `serverSecretKeyFile or ${ZEEK_ENV.serverSecretKey} over putting it in a config file.`,
    format: optionalKeyFormat,
    default: '',
    sensitive: true,
  },
  serverSecretKeyFile: {
    doc: 'Path of a file holding the Z85 server secret key (surrounding whitespace is ignored).',
    format: String,
    default: '',
  },
  allowedClientKeys: {
    doc:
      "Z85 public keys of the clients allowed to connect (Zeek's curve_client_publickey). " +
      `${ZEEK_ENV.clientPublicKey} is added when set.`,
    format: keyListFormat,
    default: [],
  },
  allowedClientKeysFile: {
    doc:
      'Path of a file with one allowed Z85 client public key per line. Blank lines and lines ' +
      'starting with "#" are ignored, as is text after the key (separated by whitespace).',
    format: String,
    default: '',
  },
  allowAnyClient: {
    doc:
      'Accept any client that knows the server public key (Stonehouse model): encrypted, but ' +
      'anyone holding the public key can inject logs. Only allowed with no client keys configured.',
    format: Boolean,
    default: false,
  },
};

/** CURVE is off for this ingress: plaintext (NULL mechanism), no client check at all. */
export interface CurveDisabled {
  readonly enabled: false;
  readonly warnings: readonly string[];
}

/** CURVE is on. `serverSecretKey` is not enumerable, so logging the object does not leak it. */
export interface CurveServerConfig extends ZapClientPolicy {
  readonly enabled: true;
  readonly serverSecretKey: string;
  /** Derived from the secret; operators must set it as Zeek's curve_server_publickey. */
  readonly serverPublicKey: string;
  readonly allowedClientKeys: ReadonlySet<string>;
  readonly allowAnyClient: boolean;
  /** Where the secret came from: a setting name or env var name (never the value). */
  readonly serverSecretKeySource: string;
  readonly warnings: readonly string[];
}

export type ResolvedCurveConfig = CurveDisabled | CurveServerConfig;

export interface CurveProblem {
  /** The setting or variable at fault, e.g. `ingress.pull.curve.allowedClientKeys[2]`. */
  setting: string;
  message: string;
}

/** Every problem found in one CURVE section, each naming its setting. */
export class CurveConfigError extends Error {
  constructor(readonly problems: readonly CurveProblem[]) {
    super(problems.map((p) => `${p.setting}: ${p.message}`).join('\n'));
    this.name = 'CurveConfigError';
  }
}

export interface ResolveCurveOptions {
  /** Config path of this section, used in messages (default `curve`). */
  setting?: string;
  /** File reader, for tests. */
  readFile?: (path: string) => string;
}

/**
 * Checks one ingress's CURVE settings together with Zeek's environment variables and returns
 * what the socket needs. Throws CurveConfigError listing every problem. Rules:
 * - the secret comes from exactly one of serverSecretKey / serverSecretKeyFile, or from
 *   ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_SECRETKEY; env and config must agree if both set;
 * - ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_SERVER_PUBLICKEY, if set, must match the secret (Zeek
 *   senders pin it; a mismatch makes every handshake fail and the senders exit);
 * - the allowlist is the union of allowedClientKeys, allowedClientKeysFile and
 *   ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_PUBLICKEY; it may be empty only with
 *   allowAnyClient: true, which in turn requires it to be empty.
 * Zeek's variables describe the cluster backend (the PULL ingress); pass `env = {}` for an
 * ingress that should not take them (the NCSA writer plugin has no CURVE at all).
 */
export function resolveCurveConfig(
  cfg: Partial<CurveSettings>,
  env: NodeJS.ProcessEnv = process.env,
  opts: ResolveCurveOptions = {},
): ResolvedCurveConfig {
  const ctx: Resolving = {
    at: opts.setting ?? 'curve',
    env,
    readFile: opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')),
    warnings: [],
    problems: [],
  };
  const { at, warnings, problems } = ctx;

  if (cfg.enabled !== true) {
    if (envValue(env, ZEEK_ENV.serverSecretKey) || envValue(env, ZEEK_ENV.clientPublicKey)) {
      warnings.push(
        `${at}.enabled is false although Zeek's CURVE variables are set: senders configured for ` +
          'CURVE will fail their handshake with this plaintext socket and Zeek exits on that.',
      );
    }
    return { enabled: false, warnings };
  }

  const secret = resolveServerSecret(cfg, ctx);
  const serverPublicKey = secret ? curvePublicKeyFromSecret(secret.key) : '';
  const envServerPublic = envValue(env, ZEEK_ENV.serverPublicKey);
  if (secret && envServerPublic && envServerPublic !== serverPublicKey) {
    problems.push({
      setting: ZEEK_ENV.serverPublicKey,
      message:
        `"${envServerPublic}" does not belong to the server secret from ${secret.source} ` +
        `(its public key is "${serverPublicKey}"); Zeek senders would refuse this server`,
    });
  }

  const allowed = resolveAllowlist(cfg, ctx);
  const allowAnyClient = cfg.allowAnyClient === true;
  if (allowAnyClient && allowed.size > 0) {
    problems.push({
      setting: `${at}.allowAnyClient`,
      message: `is true but ${allowed.size} allowed client key(s) are configured; either accept any client or check keys, not both`,
    });
  } else if (!allowAnyClient && allowed.size === 0 && problems.length === 0) {
    problems.push({
      setting: `${at}.allowedClientKeys`,
      message:
        `no allowed client keys (set ${at}.allowedClientKeys, ${at}.allowedClientKeysFile or ` +
        `${ZEEK_ENV.clientPublicKey}); to accept any client that knows the server public key, ` +
        `set ${at}.allowAnyClient: true explicitly`,
    });
  }
  if (allowAnyClient) {
    warnings.push(
      `${at}.allowAnyClient is true: traffic is encrypted but any client that knows the server ` +
        'public key (which is not secret) can send logs',
    );
  }
  if (serverPublicKey && allowed.has(serverPublicKey)) {
    warnings.push(`${at}: the server's own public key is in the client allowlist; did you mean the client key?`);
  }

  if (problems.length > 0 || secret === undefined) throw new CurveConfigError(problems);

  const resolved: Omit<CurveServerConfig, 'serverSecretKey'> = {
    enabled: true,
    serverPublicKey,
    allowedClientKeys: allowed,
    allowAnyClient,
    serverSecretKeySource: secret.source,
    warnings,
  };
  // Not enumerable: JSON.stringify, pino and util.inspect skip it.
  return Object.defineProperty(resolved, 'serverSecretKey', { value: secret.key, enumerable: false }) as CurveServerConfig;
}

interface Resolving {
  at: string;
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
  warnings: string[];
  problems: CurveProblem[];
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  // Trimmed: env files often carry a stray CR or blank.
  return env[name]?.trim() || undefined;
}

/** The server secret and where it came from, or undefined (with a problem recorded). */
function resolveServerSecret(cfg: Partial<CurveSettings>, ctx: Resolving): { key: string; source: string } | undefined {
  const { at, problems } = ctx;
  const fail = (setting: string, message: string): undefined => void problems.push({ setting, message });
  const inline = cfg.serverSecretKey?.trim() || undefined;
  const file = cfg.serverSecretKeyFile?.trim() || undefined;
  const fromEnv = envValue(ctx.env, ZEEK_ENV.serverSecretKey);

  let configured: { key: string; source: string } | undefined;
  if (inline && file) return fail(`${at}.serverSecretKey`, `set both this and ${at}.serverSecretKeyFile; set one`);
  if (inline) {
    const problem = curveKeyProblem(inline);
    if (problem) return fail(`${at}.serverSecretKey`, problem);
    configured = { key: inline, source: `${at}.serverSecretKey` };
  } else if (file) {
    const setting = `${at}.serverSecretKeyFile`;
    let text: string;
    try {
      text = ctx.readFile(file).trim();
    } catch (err) {
      return fail(setting, `cannot read ${file}: ${(err as Error).message}`);
    }
    const problem = curveKeyProblem(text);
    if (problem) return fail(setting, `${file}: ${problem}`);
    const looseMode = fileModeWarning(file, setting);
    if (looseMode) ctx.warnings.push(looseMode);
    configured = { key: text, source: setting };
  }

  if (fromEnv) {
    const problem = curveKeyProblem(fromEnv);
    if (problem) return fail(ZEEK_ENV.serverSecretKey, problem);
    // Zeek itself refuses to mix script and env keys; here both may say the same thing.
    if (configured && configured.key !== fromEnv) {
      return fail(ZEEK_ENV.serverSecretKey, `differs from ${configured.source}; set the server secret in one place only`);
    }
    return configured ?? { key: fromEnv, source: ZEEK_ENV.serverSecretKey };
  }
  if (configured) return configured;
  return fail(
    `${at}.serverSecretKey`,
    `${at}.enabled is true but no server secret key is set (set ${at}.serverSecretKey, ` +
      `${at}.serverSecretKeyFile or ${ZEEK_ENV.serverSecretKey})`,
  );
}

/** The union of all allowlist sources; each bad key is recorded where it was written. */
function resolveAllowlist(cfg: Partial<CurveSettings>, ctx: Resolving): Set<string> {
  const { at, problems } = ctx;
  const allowed = new Set<string>();
  const add = (key: unknown, setting: string): void => {
    const problem = curveKeyProblem(key);
    if (problem) problems.push({ setting, message: `${problem}${typeof key === 'string' ? `: "${key}"` : ''}` });
    else allowed.add(key as string);
  };
  const list: unknown = cfg.allowedClientKeys ?? [];
  if (!Array.isArray(list)) {
    problems.push({ setting: `${at}.allowedClientKeys`, message: 'must be an array of Z85 CURVE public keys' });
  } else {
    list.forEach((k: unknown, i) => add(typeof k === 'string' ? k.trim() : k, `${at}.allowedClientKeys[${i}]`));
  }
  const file = cfg.allowedClientKeysFile?.trim() || undefined;
  if (file) {
    try {
      const text = ctx.readFile(file);
      for (const { line, key } of parseKeyFile(text)) add(key, `${at}.allowedClientKeysFile (${file}:${line})`);
    } catch (err) {
      problems.push({ setting: `${at}.allowedClientKeysFile`, message: `cannot read ${file}: ${(err as Error).message}` });
    }
  }
  const fromEnv = envValue(ctx.env, ZEEK_ENV.clientPublicKey);
  if (fromEnv) add(fromEnv, ZEEK_ENV.clientPublicKey);
  return allowed;
}

/** The keys of an allowlist file, with line numbers for error messages. */
export function parseKeyFile(text: string): { line: number; key: string }[] {
  const out: { line: number; key: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    // '#' is a Z85 digit, but never the first of a group (digit 84 > 2^32 / 85^4), so no key
    // starts with it and a leading '#' always marks a comment. Z85 has no whitespace, so a key
    // ends at the first blank.
    const first = raw.trim().split(/\s+/)[0] ?? '';
    if (first === '' || first.startsWith('#')) return;
    out.push({ line: i + 1, key: first });
  });
  return out;
}

function fileModeWarning(path: string, setting: string): string | null {
  try {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) {
      return `${setting}: ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
    }
  } catch {
    // Unreadable metadata is not worth a second error; the read itself already succeeded.
  }
  return null;
}

/** What to log at startup: everything but the secret. */
export function describeCurveConfig(c: ResolvedCurveConfig): Record<string, unknown> {
  if (!c.enabled) return { curve: false };
  return {
    curve: true,
    serverPublicKey: c.serverPublicKey,
    serverSecretKeySource: c.serverSecretKeySource,
    allowedClientKeys: [...c.allowedClientKeys],
    allowAnyClient: c.allowAnyClient,
  };
}
