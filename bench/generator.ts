// Load generator (a child process of the suite): replays a dataset's ZeroMQ messages as Zeek
// would send them — NCSA 2-frame messages from a publisher that the gateway's SUB socket
// subscribes to, or cluster log-write batches from a PUSH socket — cycling through the capture.
//
// The publisher is an XPUB with ZMQ_XPUB_NODROP: it waits until the subscription arrived (no
// slow-joiner loss) and, when the subscriber's queue is full, send() waits instead of dropping,
// so "maximum sustainable rate with zero loss" is the rate the receiver sets.
import { writeFileSync } from 'node:fs';
import * as zmq from 'zeromq';
import { loadDataset, makePlan, type Dataset, type Plan } from './lib/data.js';
import { cpuSeconds, nowMs, reply, serveJob, type Msg } from './lib/ipc.js';

export interface GeneratorJob {
  dataset: string;
  /** 'pub' connects an XPUB (to a SUB that binds); 'push' connects a PUSH (to a PULL that binds). */
  socket: 'pub' | 'push';
  endpoint: string;
  /** Further PUSH endpoints: batches go round-robin over all, as a Zeek node's do to several loggers. */
  alsoEndpoints?: string[];
  records: number;
  /** Records per second; 0 sends as fast as the receiver takes them. */
  rate: number;
  /** File to write each message's send time to (Float64 ms, CLOCK_MONOTONIC), for latency. */
  sendTimesFile?: string;
}

export interface GeneratorDone extends Msg {
  type: 'done';
  messages: number;
  records: number;
  startMs: number;
  endMs: number;
  cpuSeconds: number;
  /** Sends that found the receiver full and waited. */
  stalls: number;
}

let sock: zmq.XPublisher | zmq.Push | undefined;
let job: GeneratorJob | undefined;
let data: { d: Dataset; plan: Plan } | undefined;

async function prepare(j: GeneratorJob): Promise<void> {
  job = j;
  const d = loadDataset(j.dataset);
  data = { d, plan: makePlan(d, j.records) };
  if (j.socket === 'pub') {
    const pub = new zmq.XPublisher({ noDrop: true, sendHighWaterMark: 1000, linger: 0 });
    pub.connect(j.endpoint);
    // The first message an XPUB receives is a subscription: the receiver is listening.
    await pub.receive();
    sock = pub;
  } else {
    const push = new zmq.Push({ sendHighWaterMark: 1000, linger: 0 });
    for (const e of [j.endpoint, ...(j.alsoEndpoints ?? [])]) push.connect(e);
    sock = push;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * An XPUB with noDrop reports EAGAIN at the high-water mark instead of waiting (libzmq says it
 * is writable all the same), so a full receiver is polled every millisecond: no busy loop that
 * would take CPU from the process under test, and the receiver's queue stays full meanwhile.
 */
async function sendWait(s: zmq.XPublisher | zmq.Push, frames: Buffer[]): Promise<void> {
  for (;;) {
    try {
      await s.send(frames);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      stalls++;
      await sleep(1);
    }
  }
}
let stalls = 0;

async function run(): Promise<void> {
  if (!sock || !job || !data) throw new Error('go before prepare');
  const s = sock;
  const { d, plan } = data;
  const seq = plan.sequence;
  const frames = d.frames;
  const counts = d.records.map((r) => r.length);
  const times = job.sendTimesFile ? new Float64Array(seq.length) : undefined;
  const cpu0 = cpuSeconds();
  const start = nowMs();
  if (job.rate <= 0) {
    for (let i = 0; i < seq.length; i++) await sendWait(s, frames[seq[i] as number] as Buffer[]);
  } else {
    // Paced by schedule: by time t, rate*t records are due. Behind schedule (after the
    // receiver pushed back), the backlog goes out as fast as the receiver takes it.
    const perMs = job.rate / 1000;
    let sent = 0;
    for (let i = 0; i < seq.length; ) {
      const due = (nowMs() - start) * perMs;
      if (sent >= due) {
        const waitMs = (sent - due) / perMs;
        await sleep(Math.max(1, Math.floor(waitMs)));
        continue;
      }
      while (i < seq.length && sent < due) {
        const k = seq[i] as number;
        if (times) times[i] = nowMs();
        await sendWait(s, frames[k] as Buffer[]);
        sent += counts[k] as number;
        i++;
      }
    }
  }
  const end = nowMs();
  const cpu = cpuSeconds() - cpu0;
  if (times && job.sendTimesFile) writeFileSync(job.sendTimesFile, Buffer.from(times.buffer));
  const done: GeneratorDone = { type: 'done', messages: seq.length, records: plan.records, startMs: start, endMs: end, cpuSeconds: cpu, stalls };
  reply(done);
}

serveJob<GeneratorJob>(prepare, run);
