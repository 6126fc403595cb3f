// scripts/kafka.sh starts the broker as `setsid nohup java … kafka.Kafka …`: the pid runs setsid,
// then nohup, then java, and each has kafka.Kafka in its command line. A start once took setsid for
// the broker, then read the cmdline empty during an exec, judged the start failed and started a
// second broker beside the first (which kept the ports). These check the script's own functions on
// stand-in processes: a shell named `java` (a symlink) is what the script sees of a JVM.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(process.cwd(), 'scripts/kafka.sh');
const dir = mkdtempSync(join(tmpdir(), 'zlg-kafka-sh-'));
const fakeJava = join(dir, 'java');
symlinkSync('/bin/sh', fakeJava);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a function of kafka.sh (sourced, so nothing is started or locked); true when it succeeds. */
function scriptFunction(fn: string, pid: number): boolean {
  const r = spawnSync('bash', ['-c', `source "${SCRIPT}" && ${fn} ${pid}`], { encoding: 'utf8', env: { ...process.env, ZLG_STATE: dir } });
  assert.equal(r.signal, null, r.stderr);
  return r.status === 0;
}

/** A long-lived process whose command line reads `<program> -c 'sleep 30; :' kafka.Kafka server.properties`. */
function standIn(program: string): ChildProcess {
  const child = spawn(program, ['-c', 'sleep 30; :', 'kafka.Kafka', 'server.properties'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

test('a process of the exec chain that is not java yet is not the started broker', async () => {
  const chain = standIn('/bin/sh');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(scriptFunction('is_broker', chain.pid!), 'its command line names kafka.Kafka');
  assert.equal(scriptFunction('is_started_broker', chain.pid!), false);
});

test('the JVM itself is the started broker, and has not exited while it runs', async () => {
  const jvm = standIn(fakeJava);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(scriptFunction('is_started_broker', jvm.pid!));
  assert.equal(scriptFunction('has_exited', jvm.pid!), false);
  const exited = new Promise((r) => jvm.once('exit', r));
  jvm.kill('SIGKILL');
  await exited;
  assert.ok(scriptFunction('has_exited', jvm.pid!));
});
