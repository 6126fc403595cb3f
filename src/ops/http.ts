import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** The live tap as the HTTP endpoint uses it (routing/tap.ts): clients attach with a filter and a rate. */
export interface TapEndpoint {
  readonly clients: number;
  attach(
    sub: { path?: string | undefined; route?: string | undefined; sink?: string | undefined; limit: number; ratePerSecond: number },
    out: ServerResponse,
  ): () => void;
}

export interface HttpOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Whether every ingress is bound and every required sink connected, with details. */
  readiness: () => { ready: boolean } & Record<string, unknown>;
  /** Per-path schemas of cluster records (GET /schemas, /schemas/<path>). */
  schemas?: { snapshot(): Record<string, unknown>; describe(path: string): Record<string, unknown> | undefined } | undefined;
  /** POST /-/reload, when enabled: applies the config files again; answers what changed or what is wrong. */
  reload?: { allowRemote: boolean; run: () => Promise<{ ok: boolean }> } | undefined;
  /** GET /-/tap, when enabled: records as they are routed, as NDJSON. */
  tap?: { allowRemote: boolean; tap: TapEndpoint; maxRate: number; defaultRate: number; maxClients: number } | undefined;
}

/** Loopback peers: the default for the endpoints that change the gateway or show log contents. */
const isLoopback = (req: IncomingMessage): boolean => {
  const a = req.socket.remoteAddress ?? '';
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
};

/**
 * /metrics (Prometheus text format), /healthz (the process is alive and serving) and
 * /readyz (200 only when ready, else 503) — so compose and Kubernetes can hold Zeek
 * back until the gateway can take its logs. /schemas: the log schemas seen per path. When configured,
 * POST /-/reload and GET /-/tap.
 */
export async function startHttp(opts: HttpOptions): Promise<Server> {
  const endpoints = [
    '/metrics',
    '/healthz',
    '/readyz',
    ...(opts.schemas ? ['/schemas', '/schemas/<path>'] : []),
    ...(opts.reload ? ['/-/reload'] : []),
    ...(opts.tap ? ['/-/tap'] : []),
  ];
  const known = (url: string): boolean => endpoints.includes(url) || (opts.schemas !== undefined && url.startsWith('/schemas/'));
  const server = createServer((req, res) => {
    const [url = '/', query = ''] = (req.url ?? '/').split('?');
    if (url === '/-/reload' && opts.reload) return reload(req, res, opts.reload);
    if (!known(url)) return json(res, 404, { error: 'not found', endpoints });
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
    } else if (url.startsWith('/schemas/') && opts.schemas) {
      const path = safeDecode(url.slice('/schemas/'.length));
      const s = path === undefined ? undefined : opts.schemas.describe(path);
      if (s) json(res, 200, s);
      else json(res, 404, { error: `no schema seen for path ${JSON.stringify(path ?? url)}` });
    } else if (url === '/-/tap' && opts.tap) {
      tap(req, res, new URLSearchParams(query), opts.tap);
    } else {
      json(res, 404, { error: 'not found', endpoints });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

function reload(req: IncomingMessage, res: ServerResponse, o: NonNullable<HttpOptions['reload']>): void {
  if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST' }).end();
  if (!o.allowRemote && !isLoopback(req)) return json(res, 403, { error: 'reload is allowed from loopback only (http.reload.allowRemote)' });
  req.resume();
  o.run().then(
    (r) => json(res, r.ok ? 200 : 422, r),
    (err: Error) => json(res, 500, { ok: false, error: err.message }),
  );
}

function tap(req: IncomingMessage, res: ServerResponse, q: URLSearchParams, o: NonNullable<HttpOptions['tap']>): void {
  if (!o.allowRemote && !isLoopback(req)) return json(res, 403, { error: 'the tap is allowed from loopback only (http.tap.allowRemote)' });
  if (o.tap.clients >= o.maxClients) return json(res, 503, { error: `${o.maxClients} tap clients attached already (http.tap.maxClients)` });
  const int = (name: string, fallback: number): number => {
    const v = q.get(name);
    const n = v === null ? fallback : Number(v);
    return Number.isInteger(n) && n >= 0 ? n : NaN;
  };
  const limit = int('limit', 0);
  const rate = int('rate', o.defaultRate);
  if (Number.isNaN(limit) || Number.isNaN(rate)) return json(res, 400, { error: 'limit and rate must be non-negative integers' });
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  const detach = o.tap.attach(
    {
      path: q.get('path') ?? undefined,
      route: q.get('route') ?? undefined,
      sink: q.get('sink') ?? undefined,
      limit,
      ratePerSecond: Math.max(1, Math.min(rate || o.defaultRate, o.maxRate)),
    },
    res,
  );
  res.once('close', detach);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
