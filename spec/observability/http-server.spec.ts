import { expect } from 'chai';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { startHttpServer, type RunningHttpServer } from '../../lib/observability/http-server.js';
import type { ReadinessReport } from '../../lib/observability/readiness.js';

describe('startHttpServer', () => {
  let registry: Registry;
  let live: boolean;
  let report: ReadinessReport;
  let server: RunningHttpServer | undefined;
  let base: string;

  beforeEach(async () => {
    registry = new Registry();
    new Counter({ name: 'spec_things_total', help: 'Things.', registers: [registry] }).inc(2);
    live = true;
    report = { ready: true, reasons: [] };
    server = await startHttpServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      health: { isLive: () => live, readiness: () => report },
    });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('listens on a real port when given 0', () => {
    expect(server!.port).to.be.greaterThan(0);
  });

  it('serves the registry on /metrics with its content type', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal(registry.contentType);
    expect(await res.text()).to.include('spec_things_total 2');
  });

  it('answers /healthz with 200 while live and 503 when not', async () => {
    let res = await fetch(`${base}/healthz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
    live = false;
    res = await fetch(`${base}/healthz`);
    expect(res.status).to.equal(503);
    await res.body?.cancel();
  });

  it('answers /readyz with 200 when ready and 503 with the reasons when not', async () => {
    let res = await fetch(`${base}/readyz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ ready: true });
    report = { ready: false, reasons: ['producer: disconnected'] };
    res = await fetch(`${base}/readyz`);
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({ ready: false, reasons: ['producer: disconnected'] });
  });

  it('ignores the query string', async () => {
    const res = await fetch(`${base}/healthz?verbose=1`);
    expect(res.status).to.equal(200);
    await res.body?.cancel();
  });

  it('answers 404 for unknown paths and 405 with Allow for other methods', async () => {
    let res = await fetch(`${base}/nope`);
    expect(res.status).to.equal(404);
    await res.body?.cancel();
    res = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(res.status).to.equal(405);
    expect(res.headers.get('allow')).to.equal('GET');
    await res.body?.cancel();
  });

  it('answers 500, and keeps serving, when collecting metrics fails', async () => {
    new Counter({
      name: 'spec_broken_total',
      help: 'Throws on collect.',
      registers: [registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    let res = await fetch(`${base}/metrics`);
    expect(res.status).to.equal(500);
    await res.body?.cancel();
    res = await fetch(`${base}/healthz`);
    expect(res.status).to.equal(200);
    await res.body?.cancel();
  });

  it('closes promptly even with an idle keep-alive connection open', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        request(`${base}/metrics`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      // The socket now sits idle in the agent's pool, held open by keep-alive.
      expect(Object.keys(agent.freeSockets)).to.have.length(1);
      const started = Date.now();
      await server!.close();
      server = undefined;
      expect(Date.now() - started).to.be.lessThan(1000);
    } finally {
      agent.destroy();
    }
  });

  it('closes promptly even while a client is midway through a request', async () => {
    // Half-sent headers make the connection active, which server.close() alone would wait on.
    const socket = connect(server!.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => undefined);
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await server!.close();
    server = undefined;
    await closed;
  });
});
