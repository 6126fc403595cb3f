// Container tests' access to the local Docker engine (bash scripts/docker.sh up): the docker and
// docker compose CLIs, the gateway image built from the repository's Dockerfile, and the
// gateway's /metrics as a user scrapes them. A missing engine fails the tests, never skips them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = process.cwd();
const START_HINT = 'start the local engine with: bash scripts/docker.sh up';

/** The tag docker-compose.yml gives the gateway image. */
export const GATEWAY_IMAGE = 'zeek-log-gateway:local';

/**
 * Runs `docker ARGS` in the repository root; resolves with stdout (and stderr after it, with
 * `stderr: true`: `docker logs` passes a container's stderr there), rejects with stderr in the message.
 */
export async function docker(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; stderr?: boolean } = {}): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP('docker', args, {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      timeout: opts.timeoutMs ?? 120_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    return opts.stderr ? stdout + stderr : stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Fails (does not skip) when no engine or no compose CLI answers. */
export async function requireDocker(): Promise<void> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
    await docker(['compose', 'version'], { timeoutMs: 20_000 });
  } catch (err) {
    throw new Error(`no Docker engine or compose CLI (${START_HINT}): ${(err as Error).message}`);
  }
}

let built: Promise<void> | undefined;
/**
 * Builds the gateway image from the repository's Dockerfile, unmodified, on whatever
 * node:<.node-version>-bookworm-slim the engine has (the stand-in here). Docker's layer cache makes a second
 * build in the same run take seconds. The host network: the build's npm ci reaches the registry.
 */
export function buildGatewayImage(): Promise<void> {
  built ??= docker(['build', '--network', 'host', '-t', GATEWAY_IMAGE, '.'], { timeoutMs: 900_000 }).then(() => undefined);
  return built;
}

/** `docker inspect --format FORMAT NAME`, trimmed. */
export async function inspect(name: string, format: string): Promise<string> {
  return (await docker(['inspect', '--format', format, name])).trim();
}

/** A compose project of docker-compose.yml plus override files, with its own name and variables. */
export class ComposeProject {
  constructor(
    readonly name: string,
    readonly files: string[],
    readonly env: Record<string, string>,
  ) {}

  run(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; stderr?: boolean } = {}): Promise<string> {
    const files = this.files.flatMap((f) => ['-f', f]);
    return docker(['compose', '-p', this.name, ...files, ...args], { ...opts, env: { ...this.env, ...opts.env } });
  }

  /** The container id of a service ('' when it has none). */
  async container(service: string): Promise<string> {
    return (await this.run(['ps', '-a', '-q', service])).trim();
  }

  async logs(service: string): Promise<string> {
    return this.run(['logs', '--no-color', '--no-log-prefix', service], { stderr: true });
  }
}

// Scraping lives in metrics.ts; re-exported for the container tests.
export { scrapeMetric } from './metrics.js';
