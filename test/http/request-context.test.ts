// The per-request context: request ids, the lazily made child logger, one log
// line and one duration observation per answered request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { requestContext, requestTracker } from '../../src/http/request-context.js';
import { createMetrics } from '../../src/http/metrics.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(level: string, route: (app: express.Express) => void) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, sink);
  const counted = { children: 0 };
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    counted.children++;
    return child(...args);
  }) as typeof logger.child;
  const metrics = createMetrics(() => ({ used: 0, free: 0, pending: 0, size: 0 }));
  const app = express();
  app.use(requestContext(app, requestTracker(logger, metrics)));
  route(app);
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines, metrics, counted };
}

describe('request context', () => {
  it('gives each request a child logger bound to its id, made once and only when used', async () => {
    const seen: unknown[] = [];
    const { url, lines, counted } = await serve('info', (app) => {
      app.get('/quiet', (_req, res) => res.end('ok'));
      app.get('/loud', (req, res) => {
        seen.push(req.log === req.log);
        req.log.warn({ detail: 1 }, 'something to say');
        res.end('ok');
      });
    });
    const loud = await fetch(`${url}/loud?secret=x`, { headers: { 'x-request-id': 'abc.1' } });
    expect(loud.headers.get('x-request-id')).toBe('abc.1');
    expect(seen).toEqual([true]);
    await fetch(`${url}/quiet`);
    await expect.poll(() => lines.filter((l) => l.msg === 'request').length).toBe(2);
    expect(counted.children).toBe(1); // /quiet logged only its request line: no child logger
    expect(lines.find((l) => l.msg === 'something to say')).toMatchObject({ reqId: 'abc.1', detail: 1, level: 40 });
    // One line per request, the path without its query.
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.reqId === 'abc.1', l.path, l.status])).toEqual([
      [true, '/loud', 200],
      [false, '/quiet', 200],
    ]);
  });

  it('logs 5xx answers at error, and nothing below the configured level', async () => {
    const { url, lines } = await serve('error', (app) => {
      app.get('/ok', (_req, res) => res.end('ok'));
      app.get('/fail', (_req, res) => res.status(503).end());
    });
    await fetch(`${url}/ok`);
    await fetch(`${url}/fail`);
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ msg: 'request', path: '/fail', status: 503, level: 50 });
  });

  it('observes one duration per request, labelled by the matched route, never the raw path', async () => {
    const { url, metrics } = await serve('silent', (app) => {
      app.get('/things/:id', (_req, res) => res.end('ok'));
    });
    await fetch(`${url}/things/1`);
    await fetch(`${url}/things/2`);
    await fetch(`${url}/nowhere`);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/gatehouse_http_request_duration_seconds_count\{method="GET",route="\/things\/:id",status="200"\} 2/);
    expect(text).toMatch(/gatehouse_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain('/things/1');
  });
});
