// A request listener served on a free port of 127.0.0.1 for a bench, with
// keep-alive sockets that outlive the client's (as in src/server.ts), so none
// closes under a request.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  close(): Promise<void>;
}

export async function serveLocal(listener: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(listener);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
