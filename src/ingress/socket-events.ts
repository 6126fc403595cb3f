// Connection and handshake events of an ingress socket, for metrics.
import type * as zmq from 'zeromq';

export type IngressSocketEventKind =
  | 'accept'
  | 'accept:error'
  | 'disconnect'
  | 'handshake'
  | 'handshake:error:auth'
  | 'handshake:error:protocol'
  | 'handshake:error:other';

const MONITORED: readonly IngressSocketEventKind[] = [
  'accept',
  'accept:error',
  'disconnect',
  'handshake',
  'handshake:error:auth',
  'handshake:error:protocol',
  'handshake:error:other',
];

export interface IngressSocketEvent {
  kind: IngressSocketEventKind;
  /**
   * The address libzmq attaches to the event. On a bound socket this is the *local* endpoint
   * (zeromq.js uses monitor events v1), not the peer: peer IPs of CURVE clients come from the
   * ZAP decisions; for plaintext clients libzmq does not expose them to zeromq.js at all.
   */
  endpoint: string | undefined;
  /** e.g. ERR_ZMTP_MECHANISM_MISMATCH, EPIPE (protocol and other handshake failures). */
  errorCode?: string;
  /** ZAP status (300/400/500) for handshake:error:auth. */
  authStatus?: number;
}

/**
 * Reports a socket's connection and handshake events to `onEvent` (for metrics). Uses the
 * socket's single zeromq.js observer in listener mode; stop() removes only these listeners.
 * What a failure looks like on the server side (libzmq 4.3.5): an unknown CURVE key gives
 * handshake:error:auth (400); a plaintext client gives handshake:error:protocol
 * (ERR_ZMTP_MECHANISM_MISMATCH) or, when the client hangs up first, handshake:error:other.
 */
export function monitorSocketEvents(socket: zmq.Socket, onEvent: (e: IngressSocketEvent) => void): { stop(): void } {
  const observer = socket.events;
  const listeners = MONITORED.map((kind) => {
    const listener = (data: zmq.Event): void => {
      const event: IngressSocketEvent = { kind, endpoint: 'address' in data ? data.address : undefined };
      const error = 'error' in data ? (data.error as { code?: unknown; status?: unknown }) : undefined;
      if (typeof error?.code === 'string') event.errorCode = error.code;
      if (typeof error?.status === 'number') event.authStatus = error.status;
      try {
        onEvent(event);
      } catch {
        // A metrics callback must not break the observer's dispatch loop.
      }
    };
    observer.on(kind, listener);
    return { kind, listener };
  });
  return {
    stop() {
      for (const { kind, listener } of listeners) observer.off(kind, listener);
    },
  };
}
