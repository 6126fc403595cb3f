// Reading from a ZeroMQ socket that must also be unbound while its reader waits.

/**
 * How long one receive() waits for a message before it gives up (the socket's receiveTimeout).
 * Bounds how long an unbind waits for the receive in flight; an idle socket wakes this often.
 */
export const RECEIVE_TIMEOUT_MS = 200;

/** The socket calls a Receiver makes. */
export interface ReceivingSocket {
  receive(): Promise<Buffer[]>;
  unbind(endpoint: string): Promise<void>;
  readonly closed: boolean;
}

/**
 * The one reader of a socket, which also unbinds it. zeromq.js 6.8 runs `unbind()` on a libuv
 * worker thread (its `unbindSync` is wired to bind, so it cannot be used), while a pending
 * `receive()` lets the main thread process the same libzmq socket's commands from its poller:
 * libzmq sockets are not thread-safe, and the two threads handling one connection's commands
 * twice aborted the whole process (`_state == term_ack_sent || _state == term_req_sent2` in
 * pipe.cpp, or `!_sink`). So an unbind waits until no receive is in flight, and no receive
 * starts until it is done; the socket's receiveTimeout (RECEIVE_TIMEOUT_MS) bounds the wait.
 */
export class Receiver {
  /** The last receive() started; settled unless one is in flight. */
  private pending: Promise<unknown> = Promise.resolve();
  /** Set while an unbind runs: receive() waits for it. */
  private gate: Promise<void> | undefined;

  constructor(private readonly socket: ReceivingSocket) {}

  /**
   * The next message. Rejects like the socket's receive(); a receive that got nothing within the
   * socket's receiveTimeout rejects with an error for which timedOut() is true.
   */
  receive(): Promise<Buffer[]> {
    if (this.gate) return this.gate.then(() => this.receive());
    const next = this.socket.receive();
    this.pending = next;
    return next;
  }

  /** True for the error of a receive that got nothing within the receive timeout (not a failure). */
  timedOut(err: unknown): boolean {
    return (err as { code?: unknown } | undefined)?.code === 'EAGAIN' && !this.socket.closed;
  }

  /** Unbinds `endpoints` while no receive is in flight; failures (already gone) are ignored. */
  async unbind(endpoints: readonly string[]): Promise<void> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    try {
      await this.pending.catch(() => undefined);
      for (const ep of endpoints) {
        if (this.socket.closed) break;
        await this.socket.unbind(ep).catch(() => undefined);
      }
    } finally {
      this.gate = undefined;
      open();
    }
  }
}
