import { subIngressSchema } from '../ingress/zmq-sub.js';
import { pullIngressSchema } from '../ingress/zmq-pull.js';
import { curveSchema } from '../ingress/curve/index.js';
import { withEnv } from './env.js';
import { deadLetterSchema } from '../routing/dead-letters.js';

/**
 * The top-level configuration schema. Sections map one to one onto the pipeline:
 * ingress → routing → sinks, plus operations. Environment variable names are derived
 * from the key paths (env.ts); sinks are validated per entry (sinks.ts).
 */
export const schema = withEnv({
  log: {
    level: {
      doc: 'Log level: fatal, error, warn, info, debug, trace or silent. Logs are JSON lines on stderr.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
  },
  ingress: {
    sub: { ...subIngressSchema, curve: curveSchema },
    pull: { ...pullIngressSchema, curve: curveSchema },
  },
  routing: {
    include: {
      doc: "Only these log paths (names or globs) are routed, like the plugin's send_logs. Empty: all.",
      format: 'string-list',
      default: [] as string[],
    },
    exclude: {
      doc: "These log paths (names or globs) are never routed, like the plugin's excluded_log_ids.",
      format: 'string-list',
      default: [] as string[],
    },
    stripFilterSuffix: {
      doc: 'Route dns-2 as dns: strip the -N suffix Zeek adds when several filters of one writer share a path.',
      format: Boolean,
      default: false,
    },
    routes: {
      doc: 'Ordered routes: {name, match: [globs], exclude: [globs], destinations: [{sink, ...address options}], continue, envelope, exchange, routingKey, topic, keyField, systemName, writeTs, timestamps, timeFields, scopeSeparator, fieldNameMap}. The first match wins unless it says continue.',
      format: Array,
      default: [] as unknown[],
    },
    defaultRoute: {
      doc: 'Destinations for paths no route matched ({destinations: [...], ...address options}); null drops them (counted as unrouted).',
      format: '*',
      default: null as unknown,
    },
  },
  deadLetter: deadLetterSchema,
  sinks: {
    doc: 'Sinks by name: {type: amqp|kafka|console, enabled, required, envelope, buffer: {...}, ...the type’s options}. A config file removes a sink defined before it (the shipped rabbitmq and kafka ones) with "name": null.',
    format: Object,
    default: {} as Record<string, unknown>,
  },
  http: {
    enabled: {
      doc: 'Serve /metrics, /healthz and /readyz.',
      format: Boolean,
      default: true,
    },
    host: {
      doc: 'Address of the HTTP listener (0.0.0.0 in containers).',
      format: String,
      default: '127.0.0.1',
    },
    port: {
      doc: 'Port of the HTTP listener.',
      format: 'port',
      default: 9275,
    },
    reload: {
      enabled: {
        doc: 'Serve POST /-/reload: re-read the config files and apply the difference, like SIGHUP (which always works).',
        format: Boolean,
        default: false,
      },
      allowRemote: {
        doc: 'Accept POST /-/reload from addresses other than loopback (anyone who reaches the listener can then reload).',
        format: Boolean,
        default: false,
      },
    },
    tap: {
      enabled: {
        doc: 'Serve GET /-/tap for `zeek-log-gateway tap`: records as they are routed. It exposes log contents to whoever reaches the listener.',
        format: Boolean,
        default: false,
      },
      allowRemote: {
        doc: 'Accept tap clients from addresses other than loopback.',
        format: Boolean,
        default: false,
      },
      maxRate: {
        doc: 'Most records per second shown to one tap client (what it asks for is capped at this); the rest are skipped and counted.',
        format: 'positive-int',
        default: 1000,
      },
      defaultRate: {
        doc: 'Records per second shown to a tap client that does not ask for a rate.',
        format: 'positive-int',
        default: 100,
      },
      maxClients: {
        doc: 'Tap clients attached at once; more are refused (503).',
        format: 'positive-int',
        default: 4,
      },
    },
  },
  shutdown: {
    lingerMs: {
      doc: 'On SIGTERM/SIGINT: how long to keep delivering buffered records before exiting.',
      format: 'nat',
      default: 10_000,
    },
  },
});
