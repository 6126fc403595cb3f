// ZAP (ZeroMQ RFC 27) handler: decides which CURVE clients may complete their handshake on the
// ingress sockets, like Zeek's own logger does (zap_thread_fun), but with one allowlist per
// socket, picked by the ZAP domain the socket sets.
//
// libzmq finds the handler by the fixed endpoint inproc://zeromq.zap.01 *in the socket's own
// context*, so the handler must share the context of the CURVE sockets and be bound before they
// accept clients. Every request must get a reply: a request left unanswered stalls that
// client's handshake until libzmq gives up, and a Zeek sender then loses logs without an error.
import * as zmq from 'zeromq';
import { RECEIVE_TIMEOUT_MS, Receiver } from '../receiver.js';
import { RateLimitedLog, type Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { z85Encode } from './z85.js';

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Who may connect to one CURVE socket. Keys are canonical Z85 (40 chars). */
export interface ZapClientPolicy {
  /** Stonehouse model: any client that knows the server public key is accepted. */
  readonly allowAnyClient: boolean;
  readonly allowedClientKeys: ReadonlySet<string>;
}

export type ZapReason =
  | 'allowed' // key in the allowlist
  | 'any-client' // allowAnyClient policy
  | 'unknown-key' // CURVE, key not in the allowlist
  | 'not-curve' // NULL or PLAIN mechanism (only reaches ZAP if a NULL/PLAIN socket sets a domain)
  | 'unknown-domain' // no policy registered for the request's domain
  | 'bad-request' // not a ZAP 1.0 request
  | 'handler-error'; // the decision itself threw; answered 400 (fail closed)

export interface ZapDecision {
  domain: string;
  /** The client's IP address as libzmq reports it in the request (no port). */
  peerAddress: string;
  mechanism: string;
  /** The client's long-term public key in Z85, when the mechanism is CURVE. */
  clientKeyZ85: string | null;
  allowed: boolean;
  reason: ZapReason;
}

export interface ZapHandlerOptions {
  /** The context of the CURVE sockets. Required: a handler in another context is never asked. */
  context: zmq.Context;
  /** Called after each reply is sent; for metrics and logs. Exceptions are caught. */
  onDecision?: (decision: ZapDecision) => void | Promise<void>;
  /** If given, each decision is counted (zeek_gateway_curve_auth_total, per domain and result). */
  metrics?: Metrics;
  /** If given, refused handshakes are logged (rate-limited per domain, peer and key). */
  logger?: Logger;
  /** Rate-limit interval for the refusal log lines. */
  logIntervalMs?: number;
}

export interface ZapHandler {
  readonly context: zmq.Context;
  /**
   * Registers the policy for one ZAP domain (one CURVE socket). Throws if the domain is taken,
   * so two sockets cannot silently share or overwrite an allowlist. Returns the unregister
   * function.
   */
  addDomain(domain: string, policy: ZapClientPolicy): () => void;
  hasDomain(domain: string): boolean;
  /** Number of requests answered so far. */
  readonly answered: number;
  /**
   * Closes the handler. Close the CURVE sockets first: afterwards their new handshakes fail
   * (they set zapEnforceDomain, so they refuse rather than accept everyone).
   */
  stop(): Promise<void>;
}

const ZAP_VERSION = '1.0';

interface Verdict {
  reply: (string | Buffer)[];
  decision: ZapDecision;
}

/**
 * Turns one request (the frames after the REP envelope) into its reply. Never throws: any
 * failure yields a 400, because an unanswered request is worse than a refused one.
 * Request frames: version, request id, domain, address, identity, mechanism, credentials...
 */
export function answerZapRequest(frames: readonly Buffer[], policyFor: (domain: string) => ZapClientPolicy | undefined): Verdict {
  const requestId = frames[1] ?? Buffer.alloc(0);
  const decision: ZapDecision = {
    domain: '',
    peerAddress: '',
    mechanism: '',
    clientKeyZ85: null,
    allowed: false,
    reason: 'handler-error',
  };
  try {
    decision.domain = frames[2]?.toString('utf8') ?? '';
    decision.peerAddress = frames[3]?.toString('utf8') ?? '';
    decision.mechanism = frames[5]?.toString('utf8') ?? '';
    if (frames.length < 6 || frames[0]!.toString('latin1') !== ZAP_VERSION) {
      decision.reason = 'bad-request';
    } else if (decision.mechanism !== 'CURVE') {
      decision.reason = 'not-curve';
    } else {
      const credential = frames[6];
      if (frames.length !== 7 || credential === undefined || credential.length !== 32) {
        decision.reason = 'bad-request';
      } else {
        decision.clientKeyZ85 = z85Encode(credential);
        const policy = policyFor(decision.domain);
        if (policy === undefined) decision.reason = 'unknown-domain';
        else if (policy.allowedClientKeys.has(decision.clientKeyZ85)) decision.reason = 'allowed';
        else if (policy.allowAnyClient) decision.reason = 'any-client';
        else decision.reason = 'unknown-key';
      }
    }
    decision.allowed = decision.reason === 'allowed' || decision.reason === 'any-client';
  } catch {
    decision.allowed = false;
    decision.reason = 'handler-error';
  }
  // Reply frames: version, request id, status code, status text, user id, metadata.
  const reply = decision.allowed
    ? [ZAP_VERSION, requestId, '200', 'OK', decision.clientKeyZ85 ?? '', '']
    : [ZAP_VERSION, requestId, '400', refusalText(decision.reason), '', ''];
  return { reply, decision };
}

function refusalText(reason: ZapReason): string {
  switch (reason) {
    case 'unknown-key':
      return 'Client key not allowed';
    case 'not-curve':
      return 'CURVE required';
    case 'unknown-domain':
      return 'Unknown ZAP domain';
    case 'bad-request':
      return 'Invalid ZAP request';
    default:
      return 'Internal error';
  }
}

/**
 * Binds a REP socket to inproc://zeromq.zap.01 in `context` and answers requests until
 * stop(). Await it before binding any CURVE socket of that context. Only one handler can
 * exist per context (the endpoint is fixed); a second one fails with a clear error.
 */
export async function startZapHandler(opts: ZapHandlerOptions): Promise<ZapHandler> {
  const { context, onDecision } = opts;
  const policies = new Map<string, ZapClientPolicy>();
  const log = opts.logger ? new RateLimitedLog(opts.logger, opts.logIntervalMs ?? 10_000) : undefined;
  // A finite receiveTimeout lets the loop see `stopping` while idle, so stop() unbinds with no
  // receive in flight (see Receiver).
  const socket = new zmq.Reply({ context, linger: 0, receiveTimeout: RECEIVE_TIMEOUT_MS });
  const receiver = new Receiver(socket);
  try {
    await socket.bind(ZAP_ENDPOINT);
  } catch (err) {
    socket.close();
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new Error(`a ZAP handler is already bound to ${ZAP_ENDPOINT} in this ZeroMQ context`);
    }
    throw err;
  }

  let stopping = false;
  let stopped: Promise<void> | undefined;
  let answered = 0;

  const report = (decision: ZapDecision): void => {
    opts.metrics?.curveAuth.labels(decision.domain, decision.allowed ? 'allowed' : decision.reason).inc();
    if (log && !decision.allowed) {
      log.warn(
        `zap-refused:${decision.domain}:${decision.peerAddress}:${decision.clientKeyZ85 ?? decision.mechanism}`,
        { ...decision },
        'CURVE handshake refused (a Zeek sender exits on this; check its client key)',
      );
    }
    if (!onDecision) return;
    try {
      const r = onDecision(decision);
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((e) => callbackFailed(e));
    } catch (e) {
      callbackFailed(e);
    }
  };
  const callbackFailed = (err: unknown): void => {
    log?.error('zap-callback', { err: String(err) }, 'ZAP decision callback threw; the reply was sent anyway');
  };

  const loop = (async () => {
    while (!stopping) {
      let frames: Buffer[];
      try {
        frames = await receiver.receive();
      } catch (err) {
        if (receiver.timedOut(err)) continue;
        if (stopping || socket.closed) return;
        log?.error('zap-receive', { err: String(err) }, 'ZAP handler receive failed');
        continue;
      }
      const { reply, decision } = answerZapRequest(frames, (d) => policies.get(d));
      try {
        await socket.send(reply);
        answered++;
      } catch (err) {
        if (stopping || socket.closed) return;
        log?.error('zap-send', { err: String(err) }, 'ZAP handler could not send its reply');
      }
      report(decision);
    }
  })();

  return {
    context,
    get answered() {
      return answered;
    },
    addDomain(domain, policy) {
      if (domain.length === 0) throw new Error('ZAP domain must not be empty');
      if (policies.has(domain)) throw new Error(`ZAP domain "${domain}" is already registered; each CURVE socket needs its own`);
      policies.set(domain, policy);
      return () => {
        if (policies.get(domain) === policy) policies.delete(domain);
      };
    },
    hasDomain(domain) {
      return policies.has(domain);
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        // The loop ends within the receive timeout; only then is the socket unbound (zeromq.js unbinds
        // on a worker thread, which must not meet a receive or send in flight: see Receiver). Unbinding
        // frees the inproc name now (close() frees it only when libzmq reaps the socket, later), so a
        // new handler can start in this context right away.
        await loop;
        await receiver.unbind([ZAP_ENDPOINT]);
        socket.close();
      })();
      return stopped;
    },
  };
}
