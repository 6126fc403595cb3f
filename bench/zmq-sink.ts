// Bare ZeroMQ receiver (a child process of the suite): a zeromq.js SUB or PULL loop that only
// counts messages. It is the ingress ceiling (what a Node process can receive from the load
// generator at all) and it measures the generator's own rate.
import * as zmq from 'zeromq';
import { pullIngressSchema } from '../src/ingress/zmq-pull.js';
import { subIngressSchema } from '../src/ingress/zmq-sub.js';
import { cpuSeconds, nowMs, reply, serve } from './lib/ipc.js';

export interface SinkJob {
  socket: 'sub' | 'pull';
  endpoint: string;
  /** Stop after this many messages. */
  messages: number;
}

serve(async (m) => {
  if (m.type !== 'listen') return;
  const job = m.job as SinkJob;
  // The gateway's own socket settings (receive HWM of the SUB and PULL ingress defaults).
  const sock =
    job.socket === 'sub'
      ? new zmq.Subscriber({ receiveHighWaterMark: subIngressSchema.receiveHighWaterMark.default, linger: 0 })
      : new zmq.Pull({ receiveHighWaterMark: pullIngressSchema.receiveHighWaterMark.default, linger: 0 });
  if (sock instanceof zmq.Subscriber) sock.subscribe();
  await sock.bind(job.endpoint);
  reply({ type: 'listening' });
  let n = 0;
  let bytes = 0;
  let first = 0;
  const cpu0 = cpuSeconds();
  while (n < job.messages) {
    const frames = await sock.receive();
    if (n === 0) first = nowMs();
    n++;
    for (const f of frames) bytes += f.length;
  }
  const last = nowMs();
  sock.close();
  reply({ type: 'done', messages: n, bytes, firstMs: first, lastMs: last, cpuSeconds: cpuSeconds() - cpu0 });
});
