// What the transports (AMQP, Kafka, console) share: their context, TLS and secret options.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../../ops/log.js';

/** Handed to every transport factory. */
export interface TransportContext {
  /** The sink's configured name, for logs. */
  name: string;
  logger: Logger;
}

export interface TlsOptions {
  enabled: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
  servername: string;
  rejectUnauthorized: boolean;
}

/** Convict schema of the `tls` block of a broker sink. */
export function tlsSchema(what: string) {
  return {
    enabled: {
      doc: `Use TLS to ${what}.`,
      format: Boolean,
      default: false,
    },
    caFile: {
      doc: 'PEM file with the CA certificate(s) that signed the broker certificate; empty: the system CAs.',
      format: String,
      default: '',
    },
    certFile: {
      doc: 'PEM client certificate for mutual TLS; empty: none.',
      format: String,
      default: '',
    },
    keyFile: {
      doc: 'PEM private key of the client certificate.',
      format: String,
      default: '',
    },
    servername: {
      doc: 'Server name for SNI and certificate verification; empty: the host name connected to.',
      format: String,
      default: '',
    },
    rejectUnauthorized: {
      doc: 'Verify the broker certificate. Turn off only for tests.',
      format: Boolean,
      default: true,
    },
  };
}

/** Node TLS options from the config block; reads the PEM files now so that a bad path fails at startup. */
export function loadTls(opts: TlsOptions): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: opts.rejectUnauthorized };
  if (opts.caFile) out.ca = readConfigFile(opts.caFile, 'tls.caFile');
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('tls.certFile and tls.keyFile must be set together');
    out.cert = readConfigFile(opts.certFile, 'tls.certFile');
    out.key = readConfigFile(opts.keyFile, 'tls.keyFile');
  }
  if (opts.servername) out.servername = opts.servername;
  return out;
}

/** The secret itself, or the content of `file` (without a final newline) when one is named: files keep secrets out of configs. */
export function resolveSecret(value: string, file: string, key: string): string {
  if (!file) return value;
  return readConfigFile(file, key).toString('utf8').replace(/\r?\n$/, '');
}

function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${key}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * A list option's value: environment variables give lists as text, split at commas
 * (`splitBefore` narrows the split to commas followed by that pattern).
 */
export function asList(value: unknown, splitBefore = ''): string[] {
  if (Array.isArray(value)) return value as string[];
  if (typeof value !== 'string' || value.trim() === '') return [];
  return value.split(new RegExp(`\\s*,\\s*${splitBefore ? `(?=${splitBefore})` : ''}`)).map((v) => v.trim());
}

/** Plain option values from a convict schema's defaults, for tests and tools. */
export function schemaDefaults<T>(schema: object): T {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(schema)) {
    const n = node as Record<string, unknown>;
    if ('default' in n && ('doc' in n || 'format' in n)) {
      const d = n.default;
      out[key] = Array.isArray(d) ? [...d] : d;
    } else out[key] = schemaDefaults(n);
  }
  return out as T;
}
