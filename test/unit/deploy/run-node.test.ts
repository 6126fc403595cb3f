// deploy/zeek/run-node.sh, the entry point of the compose stack's Zeek containers, run against a
// fake `zeek` (and `zeek-config`) that records how it was called: the command lines per node,
// the pcap loop, standing down for the live worker, plugin checks, and SIGTERM handling.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT_DIR = join(process.cwd(), 'deploy/zeek');
const SCRIPT = join(SCRIPT_DIR, 'run-node.sh');

interface Fake {
  dir: string;
  bin: string;
  calls: string;
  pcaps: string;
}

/** A folder with fake zeek/zeek-config on a PATH of their own, and an empty trace folder; removed after the test. */
function fake(t: TestContext): Fake {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-run-node-'));
  const bin = join(dir, 'bin');
  const pcaps = join(dir, 'pcaps');
  mkdirSync(bin);
  mkdirSync(pcaps);
  const calls = join(dir, 'calls.log');
  writeFileSync(
    join(bin, 'zeek'),
    `#!/usr/bin/env bash
case "$1" in
  -N)
    echo "Zeek::Cluster_Backend_ZeroMQ - ZeroMQ cluster backend (built-in)"
    [ -n "\${FAKE_NCSA:-}" ] && echo "NCSA::ZeroMQWriter - ZeroMQ log writer (dynamic, version 0.3.0)"
    exit 0 ;;
  --version) echo "zeek version 8.2.2"; exit 0 ;;
esac
echo "run node=\${CLUSTER_NODE:-<unset>} path=$ZEEKPATH cwd=$PWD args=$*" >>"${calls}"
s=
trap 'echo "TERM" >>"${calls}"; [ -n "$s" ] && kill "$s"; exit 0' TERM
if [ "\${FAKE_ZEEK_SLEEP:-0}" != 0 ]; then sleep "$FAKE_ZEEK_SLEEP" & s=$!; wait $s; fi
exit "\${FAKE_ZEEK_RC:-0}"
`,
  );
  writeFileSync(join(bin, 'zeek-config'), '#!/usr/bin/env bash\n[ "$1" = --zeekpath ] && echo /fake/share/zeek\n');
  chmodSync(join(bin, 'zeek'), 0o755);
  chmodSync(join(bin, 'zeek-config'), 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, bin, calls, pcaps };
}

interface Run {
  code: number | null;
  stderr: string;
  calls: string[];
}

/** Runs the script; `after` may act on the running process (e.g. signal it) once `ready` holds. */
async function runNode(
  f: Fake,
  env: Record<string, string>,
  opts: { ready?: (f: Fake, stderr: string) => boolean; after?: (pid: number) => void; timeoutMs?: number } = {},
): Promise<Run> {
  const child = spawn('bash', [SCRIPT], {
    env: {
      PATH: `${f.bin}:/usr/bin:/bin`,
      ZEEK_PCAP_DIR: f.pcaps,
      ZEEK_WORKDIR: join(f.dir, 'work'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
  if (opts.after) {
    const started = Date.now();
    while (!(opts.ready?.(f, stderr) ?? true) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
    opts.after(child.pid!);
  }
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  clearTimeout(deadline);
  const calls = existsSync(f.calls) ? readFileSync(f.calls, 'utf8').trim().split('\n') : [];
  return { code, stderr, calls };
}

const zeekRan = (f: Fake): boolean => existsSync(f.calls);

test('manager: zeek with common.zeek, our folder on ZEEKPATH, in its own work dir', async (t) => {
  const f = fake(t);
  const r = await runNode(f, { CLUSTER_NODE: 'manager', ZEEK_SCRIPTS: 'local extra/thing' });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, [
    `run node=manager path=/fake/share/zeek:${SCRIPT_DIR} cwd=${join(f.dir, 'work')} args=-C ${SCRIPT_DIR}/common.zeek local extra/thing`,
  ]);
});

test('worker-1: every trace, in order, pass after pass, then done', async (t) => {
  const f = fake(t);
  for (const name of ['b.pcap', 'a.pcapng', 'c.cap', 'notes.txt']) writeFileSync(join(f.pcaps, name), '');
  const r = await runNode(f, { CLUSTER_NODE: 'worker-1', ZEEK_PCAP_LOOPS: '2', ZEEK_PCAP_LOOP_DELAY: '0' });
  assert.equal(r.code, 0, r.stderr);
  const read = r.calls.map((c) => /-r (\S+)/.exec(c)?.[1]?.slice(f.pcaps.length + 1));
  assert.deepEqual(read, ['b.pcap', 'a.pcapng', 'c.cap', 'b.pcap', 'a.pcapng', 'c.cap']);
  assert.match(r.calls[0]!, new RegExp(`args=-C -r \\S+ ${SCRIPT_DIR}/common.zeek ${SCRIPT_DIR}/worker-pcap.zeek$`));
  assert.match(r.calls[0]!, /^run node=worker-1 /);
  assert.match(r.stderr, /done after 2 pass/);
});

test('worker-1: a failing zeek run is logged and the loop goes on', async (t) => {
  const f = fake(t);
  writeFileSync(join(f.pcaps, 'x.pcap'), '');
  const r = await runNode(f, { CLUSTER_NODE: 'worker-1', ZEEK_PCAP_LOOPS: '2', ZEEK_PCAP_LOOP_DELAY: '0', FAKE_ZEEK_RC: '3' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.calls.length, 2);
  assert.match(r.stderr, /zeek exited with 3 on .*x\.pcap/);
});

test('worker-1 stands down when ZEEK_INTERFACE is set', async (t) => {
  const f = fake(t);
  writeFileSync(join(f.pcaps, 'x.pcap'), '');
  const r = await runNode(f, { CLUSTER_NODE: 'worker-1', ZEEK_INTERFACE: 'eth0' });
  assert.equal(r.code, 0);
  assert.ok(!zeekRan(f));
  assert.match(r.stderr, /zeek-worker-live/);
});

test('worker-1 waits for traces, and stops at once on SIGTERM while waiting', async (t) => {
  const f = fake(t);
  const started = Date.now();
  const r = await runNode(
    f,
    { CLUSTER_NODE: 'worker-1' },
    { ready: (_f, err) => /no traces in/.test(err), after: (pid) => process.kill(pid, 'SIGTERM') },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 5000, 'did not sit out the 30 s pause');
  assert.ok(!zeekRan(f));
  assert.match(r.stderr, /put some there/);
});

test('SIGTERM reaches the running zeek, then the script exits 0', async (t) => {
  const f = fake(t);
  const r = await runNode(
    f,
    { CLUSTER_NODE: 'manager', FAKE_ZEEK_SLEEP: '30' },
    { ready: (fk) => zeekRan(fk), after: (pid) => process.kill(pid, 'SIGTERM') },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls.slice(1), ['TERM']);
});

test('worker-live: sniffs ZEEK_INTERFACE, and refuses to start without one', async (t) => {
  const f = fake(t);
  const missing = await runNode(f, { CLUSTER_NODE: 'worker-live' });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /set ZEEK_INTERFACE/);
  assert.ok(!zeekRan(f));
  const r = await runNode(f, { CLUSTER_NODE: 'worker-live', ZEEK_INTERFACE: 'eth9' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.calls[0]!, new RegExp(`^run node=worker-live .* args=-C -i eth9 ${SCRIPT_DIR}/common.zeek$`));
});

test('ncsa: needs the plugin; then a standalone Zeek with ncsa.zeek per trace', async (t) => {
  const f = fake(t);
  writeFileSync(join(f.pcaps, 'x.pcap'), '');
  const without = await runNode(f, { ZEEK_ROLE: 'ncsa', ZEEK_PCAP_LOOPS: '1' });
  assert.equal(without.code, 1);
  assert.match(without.stderr, /NCSA::ZeroMQWriter.*deploy\/zeek-ncsa\/Dockerfile/);
  const r = await runNode(f, { ZEEK_ROLE: 'ncsa', ZEEK_PCAP_LOOPS: '1', FAKE_NCSA: '1' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.calls[0]!, new RegExp(`^run node=<unset> .* args=-C -r \\S+x\\.pcap ${SCRIPT_DIR}/ncsa\\.zeek$`));
});

test('a node name it does not know, or none, is an error', async (t) => {
  const f = fake(t);
  assert.equal((await runNode(f, { CLUSTER_NODE: 'proxy-1' })).code, 1);
  const none = await runNode(f, {});
  assert.equal(none.code, 1);
  assert.match(none.stderr, /set CLUSTER_NODE/);
  assert.ok(!zeekRan(f));
});
