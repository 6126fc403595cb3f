// Stand-in for a Zeek 8 cluster node of docker-compose.yml (zeek-manager, zeek-worker), for a
// machine where the zeek/zeek image cannot be pulled. It sends what the real node sent to its
// logger in the project's Zeek 8.2.2 captures (ZEEK_CAPTURES/*.jsonl: every ZeroMQ log-write
// message as it arrived, frames verbatim): the messages whose sender is this CLUSTER_NODE, on a
// PUSH socket connected to the LOGGER of deploy/zeek/cluster-layout.zeek, as Zeek's ZeroMQ
// cluster backend does. The worker sends every capture in name order, ZEEK_PCAP_LOOPS times
// (0: forever) with ZEEK_PCAP_LOOP_DELAY seconds between passes, then exits 0; the manager sends
// its own logs once, listens on the proxy's XSUB port (its compose healthcheck) and stays up.
// Runs on the gateway image (Node and zeromq.js in /app). Not Zeek: docs/deployment.md.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const zmq = createRequire('/app/package.json')('zeromq');
const env = (name, fallback) => process.env[name] || fallback;
const node = env('CLUSTER_NODE', '');
const captures = env('ZEEK_CAPTURES', '/captures');
const layoutDir = env('ZEEK_LAYOUT_DIR', '/opt/zeek-log-gateway');
const loops = Number(env('ZEEK_PCAP_LOOPS', '0'));
const loopDelayMs = Number(env('ZEEK_PCAP_LOOP_DELAY', '10')) * 1000;
const say = (msg) => console.log(JSON.stringify({ node, msg }));

// The logger's address, from the layout the real nodes load: ["logger-1"] = [$node_type=Cluster::LOGGER, $ip=..., $p=.../tcp]
const layout = readFileSync(join(layoutDir, 'cluster-layout.zeek'), 'utf8').replace(/#.*$/gm, '');
const logger = /\[\s*\$node_type\s*=\s*Cluster::LOGGER\s*,\s*\$ip\s*=\s*([\d.]+)\s*,\s*\$p\s*=\s*(\d+)\/tcp/.exec(layout);
if (!logger) throw new Error('no LOGGER node in cluster-layout.zeek');
if (!new RegExp(`\\["${node}"\\]\\s*=`).test(layout)) throw new Error(`CLUSTER_NODE ${node} is not in cluster-layout.zeek`);
const endpoint = `tcp://${logger[1]}:${logger[2]}`;

// Frame 1 of a log-write message is the sender: zeromq_<node>_<host>_<pid>_<id>.
const mine = (frames) => frames[1].toString('latin1').startsWith(`zeromq_${node}_`);
const files = readdirSync(captures).filter((f) => /^[^.]+\.jsonl$/.test(f)).sort();
const batches = files.flatMap((f) =>
  readFileSync(join(captures, f), 'utf8').split('\n').filter(Boolean)
    .map((line) => JSON.parse(line).frames_b64.map((b) => Buffer.from(b, 'base64')))
    .filter(mine),
);

const sock = new zmq.Push({ linger: 5000, sendHighWaterMark: 0 });
sock.connect(endpoint);
let stopping = false;
const stop = () => {
  stopping = true;
  sock.close();
  say('stopped');
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (node === 'manager') {
  // The manager's XPUB/XSUB proxy: the compose healthcheck connects to its XSUB port (5556).
  createServer((c) => c.destroy()).listen(5556, '0.0.0.0');
  for (const b of batches) await sock.send(b);
  say(`sent ${batches.length} log-write batches to ${endpoint}`);
} else {
  say(`${batches.length} log-write batches from ${files.length} captures to ${endpoint}`);
  for (let pass = 1; !stopping && (loops === 0 || pass <= loops); pass++) {
    for (const b of batches) await sock.send(b);
    say(`pass ${pass} sent`);
    if (loops === 0 || pass < loops) await sleep(loopDelayMs);
  }
  sock.close(); // linger: what is queued still goes out
  say('done');
}
