// A TCP proxy on the loopback whose client-to-server direction can be held: what clients send
// while it is held waits here and reaches the server, in order, on release. A broker behind it
// then stops answering (no confirms, no acks) without being touched, so the shared brokers of the
// other tests are never disturbed.
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  /** The loopback port clients connect to. */
  readonly port: number;
  /** From now on, keeps what clients send instead of passing it on. */
  hold(): void;
  /** Passes on what was kept, in order, and everything after it. */
  release(): void;
  close(): Promise<void>;
}

/** `at`: the loopback port to listen on (a broker address that had nothing behind it comes up); a free one by default. */
export async function holdingProxy(target: { host: string; port: number }, at = 0): Promise<HoldingProxy> {
  let held = false;
  const pipes = new Set<{ client: Socket; upstream: Socket; kept: Buffer[] }>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const pipe = { client, upstream, kept: [] as Buffer[] };
    pipes.add(pipe);
    client.on('data', (b: Buffer) => (held ? pipe.kept.push(b) : upstream.write(b)));
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      pipes.delete(pipe);
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(at, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const p of pipes) for (const b of p.kept.splice(0)) p.upstream.write(b);
    },
    close: async () => {
      for (const p of pipes) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
