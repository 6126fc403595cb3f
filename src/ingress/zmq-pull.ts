import * as zmq from 'zeromq';
import { decodeLogWriteMessage } from '../zeek/binary/log-write.js';
import { ZeekBinV1Decoder } from '../zeek/binary/bin-v1.js';
import { TIMESTAMP_MODES, type DecodeOptions, type TimestampMode } from '../zeek/types.js';
import { ncsaHandler, pathProblem, type NcsaValidation } from './ncsa.js';
import { createZmqIngress, ingressSocketOptions, type Ingress, type MessageHandler } from './zmq-ingress.js';
import type { IngressDeps } from './deps.js';
import type { SchemaCatalog } from '../zeek/schemas.js';
import { senderLabel } from '../ops/metrics.js';

/**
 * PULL ingress: the gateway as a logger node of a Zeek 7.1+/8.x cluster (ZeroMQ backend).
 * Workers, proxies and the manager PUSH `log-write` batches to it; each batch becomes
 * one record per log write, rendered exactly as Zeek's JSON writer would.
 */
export interface PullIngressConfig {
  enabled: boolean;
  endpoints: string[];
  format: 'zeek' | 'ncsa';
  receiveHighWaterMark: number;
  maxMessageSize: number;
  writers: string[];
  json: { timestamps: TimestampMode; includeUnsetFields: boolean; scopeSeparator: string; fieldNameMap: Record<string, string> };
  validation: NcsaValidation;
}

export const pullIngressSchema = {
  enabled: {
    doc: 'Receive logs on a PULL socket (Zeek cluster logger node, or PUSH producers of [path, JSON]).',
    format: Boolean,
    default: false,
  },
  endpoints: {
    doc: "ZeroMQ endpoints to bind (comma-separated in the environment). Zeek senders list them in Cluster::Backend::ZeroMQ::connect_log_endpoints.",
    format: 'zmq-endpoints',
    default: ['tcp://127.0.0.1:5560'],
  },
  format: {
    doc: "zeek: Zeek's cluster log-write batches (zeek-bin-serializer). ncsa: 2-frame [path, JSON] messages.",
    format: ['zeek', 'ncsa'],
    default: 'zeek',
  },
  receiveHighWaterMark: {
    doc: "ZeroMQ receive high-water mark in messages (Zeek's log_rcvhwm is 1000 batches).",
    format: 'nat',
    default: 1000,
  },
  maxMessageSize: {
    doc: 'Largest message in bytes (a cluster batch holds up to Log::write_buffer_size records); larger ones are rejected.',
    format: 'positive-int',
    default: 16 * 1024 * 1024,
  },
  writers: {
    doc: 'Cluster batches of these Zeek writers are routed (a Zeek logger would write Log::WRITER_ASCII ones to .log files); others are rejected as writer-filtered. Empty: all.',
    format: 'string-list',
    default: ['Log::WRITER_ASCII'],
  },
  json: {
    timestamps: {
      doc: 'LogAscii::json_timestamps of the emulated logger: epoch (JSON::TS_EPOCH), millis, millis-unsigned or iso8601.',
      format: [...TIMESTAMP_MODES],
      default: 'epoch',
    },
    includeUnsetFields: {
      doc: 'LogAscii::json_include_unset_fields: write unset fields as null instead of leaving them out.',
      format: Boolean,
      default: false,
    },
    scopeSeparator: {
      doc: "Log::default_scope_sep of the emulated logger: replaces '.' in field names (e.g. _ for id_orig_h; an empty string joins them with nothing, as Zeek does), applied once per schema at no cost per record. Routes can set their own (routing.routes[].scopeSeparator).",
      format: String,
      default: '.',
    },
    fieldNameMap: {
      doc: 'Log::default_field_name_map of the emulated logger: {"id_orig_h": "src_ip", ...}, applied after scopeSeparator (environment: the same JSON text).',
      format: 'field-name-map',
      default: {} as Record<string, string>,
    },
  },
  validation: {
    doc: 'For format ncsa: structural or full (see ingress.sub.validation).',
    format: ['structural', 'full'],
    default: 'structural',
  },
} as const;

/** Decodes cluster batches; the path comes from the batch header, the sender from frame 1. */
export function clusterHandler(ingress: string, cfg: PullIngressConfig, schemas?: SchemaCatalog): MessageHandler {
  const writers = new Set(cfg.writers);
  const options: DecodeOptions = { timestamps: cfg.json.timestamps, includeUnsetFields: cfg.json.includeUnsetFields };
  // One decoder per ingress: its schema cache and output buffer are reused across batches.
  const decoder = new ZeekBinV1Decoder(undefined, { scopeSeparator: cfg.json.scopeSeparator, fieldNameMap: cfg.json.fieldNameMap });
  return (frames, receivedAt, sink) => {
    const size = frames.reduce((n, f) => n + f.length, 0);
    if (size > cfg.maxMessageSize) {
      sink.reject('too-large', `message of ${size} bytes exceeds ${cfg.maxMessageSize}`);
      return;
    }
    const r = decodeLogWriteMessage(frames, options, decoder);
    if (!r.ok) {
      sink.reject(r.reason, r.detail);
      return;
    }
    const { batch, sender } = r;
    // Checked like an NCSA path frame: the path becomes routing keys, topics and metric labels.
    const bad = pathProblem(batch.path);
    if (bad) {
      sink.reject(bad.reason, `${bad.detail} (batch of ${batch.records.length} records)`);
      return;
    }
    if (writers.size > 0 && !writers.has(batch.writer)) {
      sink.reject('writer-filtered', `batch of ${batch.records.length} ${batch.path} records from writer ${batch.writer}`);
      return;
    }
    // Keyed by the node's stable name: a restarted (upgraded) node is compared with its previous self.
    schemas?.observe(batch.path, senderLabel(sender), batch.fields);
    sink.accepted(batch.path, sender, batch.records.length);
    for (const json of batch.records) sink.route({ path: batch.path, json, sender, ingress, receivedAt });
  };
}

export function createPullIngress(cfg: PullIngressConfig, deps: IngressDeps): Ingress {
  const socket = new zmq.Pull(ingressSocketOptions(cfg, deps));
  const handler = cfg.format === 'zeek' ? clusterHandler('pull', cfg, deps.schemas) : ncsaHandler('pull', cfg.validation, cfg.maxMessageSize);
  return createZmqIngress('pull', socket, { endpoints: cfg.endpoints, mode: 'bind' }, handler, deps);
}
