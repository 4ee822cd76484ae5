import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from './readiness.js';

export interface HealthSource {
  isLive(): boolean;
  readiness(): ReadinessReport;
}

export interface HttpServerOptions {
  /** 0 picks a free port; the one chosen is returned. */
  port: number;
  /** Defaults to all interfaces, which a container needs for probes from outside. */
  host?: string;
  registry: Registry;
  health: HealthSource;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  // Probes and scrapes must always see the current state, never a cached one.
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}

async function route(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  if (req.method !== 'GET') {
    // RFC 9110 requires a 405 to say which methods are allowed.
    res.setHeader('allow', 'GET');
    sendJson(res, 405, { error: 'method not allowed' });
    return;
  }
  if (path === '/metrics') {
    send(res, 200, options.registry.contentType, await options.registry.metrics());
  } else if (path === '/healthz') {
    const live = options.health.isLive();
    sendJson(res, live ? 200 : 503, { status: live ? 'ok' : 'unhealthy' });
  } else {
    const { ready, reasons } = options.health.readiness();
    sendJson(res, ready ? 200 : 503, ready ? { ready } : { ready, reasons });
  }
}

/** Serves /metrics, /healthz and /readyz; small enough that node:http is all it needs. */
export function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server = createServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      // A failing collect callback must cost one scrape, not the process.
      if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${String(error)}\n`);
      else res.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Prometheus keeps its connection alive between scrapes; close() alone waits on it.
            server.closeAllConnections();
          }),
      });
    });
  });
}
