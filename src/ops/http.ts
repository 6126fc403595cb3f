import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Whether every ingress is bound and every required sink connected, with details. */
  readiness: () => { ready: boolean } & Record<string, unknown>;
  /** Per-path schemas of cluster records (GET /schemas, /schemas/<path>). */
  schemas?: { snapshot(): Record<string, unknown>; describe(path: string): Record<string, unknown> | undefined } | undefined;
}

const ENDPOINTS = ['/metrics', '/healthz', '/readyz'];
const SCHEMA_ENDPOINTS = ['/schemas', '/schemas/<path>'];

/**
 * /metrics (Prometheus text format), /healthz (the process is alive and serving) and
 * /readyz (200 only when ready, else 503) — so compose and Kubernetes can hold Zeek
 * back until the gateway can take its logs. /schemas: the log schemas seen per path.
 */
export async function startHttp(opts: HttpOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
    } else if (url === '/healthz') {
      json(res, 200, { status: 'ok' });
    } else if (url === '/readyz') {
      const r = opts.readiness();
      json(res, r.ready ? 200 : 503, r);
    } else if (url === '/schemas' && opts.schemas) {
      json(res, 200, opts.schemas.snapshot());
    } else if (url?.startsWith('/schemas/') && opts.schemas) {
      const path = safeDecode(url.slice('/schemas/'.length));
      const s = path === undefined ? undefined : opts.schemas.describe(path);
      if (s) json(res, 200, s);
      else json(res, 404, { error: `no schema seen for path ${JSON.stringify(path ?? url)}` });
    } else {
      json(res, 404, { error: 'not found', endpoints: opts.schemas ? [...ENDPOINTS, ...SCHEMA_ENDPOINTS] : ENDPOINTS });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
