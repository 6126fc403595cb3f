// Turning an ingress socket into a CURVE server whose clients the ZAP handler checks.
import type * as zmq from 'zeromq';
import type { CurveServerConfig } from './config.js';
import type { ZapHandler } from './zap.js';

// ---------------------------------------------------------------------------------------------
// Sockets

export interface CurveServerBinding {
  readonly zapDomain: string;
  /** False when libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN (draft): a missing handler then means "accept all". */
  readonly failClosed: boolean;
  /** Unregisters the socket's allowlist from the ZAP handler (after closing the socket). */
  release(): void;
}

/**
 * Makes `socket` a CURVE server checked by `zap` under `zapDomain`. Call before bind():
 * libzmq copies the security options into a listener when it binds, so an endpoint bound
 * earlier would stay plaintext. The socket must live in the ZAP handler's context, since
 * libzmq only looks for the handler there. zapEnforceDomain is set so that if the handler
 * is gone, handshakes fail instead of falling back to accepting any client.
 */
export function applyCurveServer(
  socket: zmq.Socket,
  opts: { curve: CurveServerConfig; zap: ZapHandler; zapDomain: string },
): CurveServerBinding {
  const { curve, zap, zapDomain } = opts;
  if (socket.context !== zap.context) {
    throw new Error('the CURVE socket and the ZAP handler use different ZeroMQ contexts; the handler would never be asked');
  }
  if (socket.lastEndpoint) {
    throw new Error(`CURVE options must be set before bind(); the socket is already bound to ${socket.lastEndpoint}`);
  }
  if (!zapDomain) throw new Error('zapDomain must not be empty');
  if (zap.hasDomain(zapDomain)) throw new Error(`ZAP domain "${zapDomain}" is already used by another socket`);
  socket.curveServer = true;
  socket.curveSecretKey = curve.serverSecretKey;
  socket.zapDomain = zapDomain;
  let failClosed = true;
  try {
    socket.zapEnforceDomain = true;
  } catch {
    failClosed = false;
  }
  const release = zap.addDomain(zapDomain, curve);
  return { zapDomain, failClosed, release };
}
