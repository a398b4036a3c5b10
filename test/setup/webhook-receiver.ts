// A local webhook receiver for the tests: records every request and verifies
// its Standard Webhooks signature with the reference library
// (`standardwebhooks`), as a real receiver would. Each path behaves
// differently so that one receiver can play every fault:
//   /ok           200
//   /status/NNN   answers NNN
//   /flaky/N      500 for the first N requests, then 200
//   /hang         never answers
//   /slow/MS      answers 200 after MS milliseconds
//   /redirect?to=URL&code=NNN   redirects (default 302) to URL
//   /big          200 with a 10 MB body
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Requests to one path. */
  on(path: string): Received[];
  /** Resolves once `n` requests reached `path` (or rejects after `timeoutMs`). */
  waitFor(path: string, n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** Verifies a request as a receiver holding `secret` would: returns the parsed payload or throws. */
export function verify(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }) as { type: string; timestamp: string; data: Record<string, unknown> };
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const flaky = new Map<string, number>();
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      received.push({ path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      for (const w of waiters) w();
      const parts = url.pathname.split('/').filter(Boolean);
      switch (parts[0]) {
        case 'ok':
          return void res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
        case 'status':
          return void res.writeHead(Number(parts[1])).end(`status ${parts[1]}`);
        case 'flaky': {
          const seen = (flaky.get(url.pathname) ?? 0) + 1;
          flaky.set(url.pathname, seen);
          return void res.writeHead(seen <= Number(parts[1]) ? 500 : 200).end();
        }
        case 'hang':
          hanging.add(res);
          return;
        case 'slow':
          return void setTimeout(() => res.writeHead(200).end('late but fine'), Number(parts[1]));
        case 'redirect':
          return void res.writeHead(Number(url.searchParams.get('code') ?? 302), { location: url.searchParams.get('to') ?? '/ok' }).end();
        case 'big': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = Buffer.alloc(64 * 1024, 'x');
          let sent = 0;
          const write = () => {
            while (sent < 10 * 1024 * 1024) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', write);
            }
            res.end();
          };
          res.on('error', () => undefined);
          return write();
        }
        default:
          return void res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const on = (path: string) => received.filter((r) => r.path === path);
  return {
    url,
    received,
    on,
    waitFor(path, n, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (on(path).length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(on(path));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${on(path).length} of ${n} requests reached ${path} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
