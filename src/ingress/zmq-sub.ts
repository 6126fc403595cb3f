import * as zmq from 'zeromq';
import type { NcsaValidation } from './ncsa.js';
import { ncsaHandler } from './ncsa.js';
import { createZmqIngress, ingressSocketOptions, type Ingress } from './zmq-ingress.js';
import type { IngressDeps } from './deps.js';

/** SUB ingress for the NCSA ZeroMQ writer plugin: Zeek's PUB sockets connect to us. */
export interface SubIngressConfig {
  enabled: boolean;
  endpoints: string[];
  mode: 'bind' | 'connect';
  subscribe: string[];
  receiveHighWaterMark: number;
  maxMessageSize: number;
  validation: NcsaValidation;
}

export const subIngressSchema = {
  enabled: {
    doc: 'Receive NCSA plugin messages ([path, JSON]) on a SUB socket.',
    format: Boolean,
    default: true,
  },
  endpoints: {
    doc: 'ZeroMQ endpoints (comma-separated in the environment). The plugin sets LogZeroMQ::endpoint to one of these.',
    format: 'zmq-endpoints',
    default: ['tcp://127.0.0.1:12345'],
  },
  mode: {
    doc: 'bind (default: the plugin connects to us) or connect (to an XPUB proxy, for example).',
    format: ['bind', 'connect'],
    default: 'bind',
  },
  subscribe: {
    doc: 'Log path prefixes to receive (a byte-prefix match on the path frame: conn also matches conn_long). Empty or "" receives everything.',
    format: 'string-list',
    default: [''],
  },
  receiveHighWaterMark: {
    doc: "ZeroMQ receive high-water mark in messages: how many records ZeroMQ queues while a blocking sink holds the gateway back. Kept low (like Zeek's own 1000) because libzmq's queue costs several KB per message and is invisible to the gateway's metrics; buffer in the sinks (or their disk spool) instead.",
    format: 'nat',
    default: 1000,
  },
  maxMessageSize: {
    doc: 'Largest record in bytes; larger ones are rejected (reason too-large).',
    format: 'positive-int',
    default: 1024 * 1024,
  },
  validation: {
    doc: 'structural (fast: frame count, printable path, UTF-8 body with outer braces) or full (also parses the JSON; for untrusted networks).',
    format: ['structural', 'full'],
    default: 'structural',
  },
} as const;

export function createSubIngress(cfg: SubIngressConfig, deps: IngressDeps): Ingress {
  const socket = new zmq.Subscriber(ingressSocketOptions(cfg, deps));
  const prefixes = cfg.subscribe.filter((p) => p !== '');
  const ingress = createZmqIngress('sub', socket, cfg, ncsaHandler('sub', cfg.validation, cfg.maxMessageSize), deps);
  if (prefixes.length === 0) socket.subscribe();
  else socket.subscribe(...prefixes);
  return ingress;
}
