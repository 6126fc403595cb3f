// RabbitMQ sink options: the convict schema, its defaults, and the brokers they name.
import type { Options } from 'amqplib';
import { recordsPerMessageSchema } from '../shared/ndjson.js';
import { asList, resolveSecret, schemaDefaults, tlsSchema, type TlsOptions } from '../shared/transport-options.js';

export type ExchangeType = 'topic' | 'direct' | 'fanout' | 'headers';

export interface AmqpOptions {
  url: string | string[];
  host: string;
  port: number;
  vhost: string;
  username: string;
  password: string;
  passwordFile: string;
  heartbeat: number;
  connectTimeoutMs: number;
  tls: TlsOptions;
  confirmTimeoutMs: number;
  persistent: boolean;
  mandatory: boolean;
  contentType: string;
  recordsPerMessage: number;
  declareExchange: { name: string; type: ExchangeType; durable: boolean };
  queue: { name: string; durable: boolean; bindingKey: string; exchange: string };
  failFast: boolean;
  reconnect: { initialDelayMs: number; maxDelayMs: number; failoverAfterAttempts: number };
}

const URL_START = 'amqps?://';

/** The configured URLs; an environment variable may list several, comma-separated. */
function amqpUrls(value: unknown): string[] {
  return asList(value, URL_START);
}

/** Validates `url`: one AMQP URL or a list; the message never repeats the URL (it may hold a password). */
function amqpUrlFormat(val: unknown): void {
  if (typeof val !== 'string' && !(Array.isArray(val) && val.every((u) => typeof u === 'string'))) {
    throw new Error('must be an AMQP URL or a list of AMQP URLs');
  }
  amqpUrls(val).forEach((u, i) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`URL #${i + 1} is not a valid URL`);
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
      throw new Error(`URL #${i + 1} must start with amqp:// or amqps://`);
    }
  });
}

export const amqpSchema = {
  url: {
    doc: 'AMQP URL (amqp://user:pass@host:port/vhost, amqps:// for TLS) or a list of them (comma-separated in the environment), tried in turn (failover). Empty: built from host, port, vhost, username and password.',
    format: amqpUrlFormat,
    default: '' as string | string[],
    sensitive: true,
  },
  host: { doc: 'Broker host (when url is empty).', format: String, default: 'localhost' },
  port: { doc: 'Broker port (when url is empty); 0: 5672, or 5671 with TLS.', format: 'port', default: 0 },
  vhost: { doc: 'Virtual host (when url is empty).', format: String, default: '/' },
  username: { doc: 'User name (when the url has none).', format: String, default: 'guest' },
  password: { doc: 'Password (when the url has none).', format: String, default: 'guest', sensitive: true },
  passwordFile: {
    doc: 'File holding the password (overrides password and the url password); empty: none.',
    format: String,
    default: '',
  },
  heartbeat: {
    doc: 'Heartbeat interval in seconds (0 disables); detects dead connections. A heartbeat in the url query wins.',
    format: 'nat',
    default: 30,
  },
  connectTimeoutMs: { doc: 'Time allowed for one connection attempt.', format: 'nat', default: 10_000 },
  tls: tlsSchema('connect to RabbitMQ (amqps); an amqps:// url turns it on too'),
  confirmTimeoutMs: {
    doc: 'A batch not confirmed by the broker within this time fails (and is retried by the sink).',
    format: 'nat',
    default: 15_000,
  },
  persistent: { doc: 'Publish persistent messages (delivery mode 2).', format: Boolean, default: true },
  mandatory: {
    doc: 'Publish mandatory: messages no queue is bound for come back and are counted as rejected (reason unroutable) instead of vanishing.',
    format: Boolean,
    default: false,
  },
  contentType: { doc: 'content_type property of published messages (NDJSON messages, recordsPerMessage above 1: application/x-ndjson).', format: String, default: 'application/json' },
  recordsPerMessage: recordsPerMessageSchema('exchange, routing key'),
  declareExchange: {
    name: {
      doc: 'Exchange to declare on every (re)connect; empty: declare none (it must exist).',
      format: String,
      default: '',
    },
    type: { doc: 'Type of the declared exchange.', format: ['topic', 'direct', 'fanout', 'headers'], default: 'topic' },
    durable: { doc: 'Declare the exchange durable.', format: Boolean, default: true },
  },
  queue: {
    name: {
      doc: 'Queue to declare and bind on every (re)connect (TRAPMINE queue_name); empty: none.',
      format: String,
      default: '',
    },
    durable: { doc: 'Declare the queue durable.', format: Boolean, default: true },
    bindingKey: { doc: 'Binding key of the queue on the exchange.', format: String, default: '#' },
    exchange: {
      doc: 'Exchange the queue is bound to; empty: declareExchange.name (if that is empty too, the queue is only reachable through the default exchange by its name).',
      format: String,
      default: '',
    },
  },
  failFast: {
    doc: 'Fail startup when the broker cannot be reached (or the declarations fail); otherwise keep retrying in the background.',
    format: Boolean,
    default: false,
  },
  reconnect: {
    initialDelayMs: { doc: 'First delay before reconnecting.', format: 'nat', default: 500 },
    maxDelayMs: { doc: 'Longest delay between reconnection attempts.', format: 'nat', default: 30_000 },
    failoverAfterAttempts: {
      doc: 'With several urls: failed reconnection attempts before moving on to the next url.',
      format: 'nat',
      default: 3,
    },
  },
};

export function defaultAmqpOptions(): AmqpOptions {
  return schemaDefaults<AmqpOptions>(amqpSchema);
}

/** How to reach one broker: amqplib connect options plus a password-free label for logs. */
export interface AmqpTarget {
  readonly connect: Options.Connect;
  readonly label: string;
}

/** Turns the options into the list of brokers to connect to, in failover order. */
export function amqpTargets(o: AmqpOptions): AmqpTarget[] {
  const filePassword = o.passwordFile ? resolveSecret('', o.passwordFile, 'passwordFile') : undefined;
  const urls = amqpUrls(o.url);
  if (urls.length === 0) {
    const protocol = o.tls.enabled ? 'amqps' : 'amqp';
    const port = o.port || (o.tls.enabled ? 5671 : 5672);
    return [
      target({
        protocol,
        hostname: o.host,
        port,
        vhost: o.vhost,
        username: o.username,
        password: filePassword ?? o.password,
        heartbeat: o.heartbeat,
      }),
    ];
  }
  return urls.map((u) => {
    const p = new URL(u);
    const protocol = p.protocol === 'amqps:' || o.tls.enabled ? 'amqps' : 'amqp';
    // Same rules as amqplib for string URLs: empty path = vhost '/', the path is URI-decoded.
    const path = p.pathname.slice(1);
    const query = p.searchParams.get('heartbeat');
    return target({
      protocol,
      hostname: p.hostname.replace(/^\[|\]$/g, ''),
      port: Number(p.port) || (protocol === 'amqps' ? 5671 : 5672),
      vhost: path ? decodeURIComponent(path) : '/',
      username: p.username ? decodeURIComponent(p.username) : o.username,
      password: filePassword ?? (p.username ? decodeURIComponent(p.password) : o.password),
      heartbeat: query !== null ? Number(query) : o.heartbeat,
    });
  });
}

function target(c: Options.Connect): AmqpTarget {
  const vhost = c.vhost === '/' ? '' : encodeURIComponent(c.vhost ?? '');
  return { connect: c, label: `${c.protocol}://${c.username}@${c.hostname}:${c.port}/${vhost}` };
}
