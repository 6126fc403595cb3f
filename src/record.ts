/**
 * The unit that flows through the gateway. Records travel as bytes: the JSON object
 * exactly as Zeek wrote it (or as our cluster decoder rendered it), never re-parsed
 * on the hot path.
 */
export interface LogRecord {
  /** Zeek log path, e.g. `conn`, `dns-2`, `http_8080`. */
  readonly path: string;
  /** The record as a compact JSON object, no trailing newline. */
  readonly json: Buffer;
  /** Cluster node id of the sender (PULL ingress); undefined for NCSA messages. */
  readonly sender?: string | undefined;
  /** Which ingress received it (its configured name), for metrics. */
  readonly ingress: string;
  /** performance.now() when the ingress received the message; used for latency. */
  readonly receivedAt: number;
}
