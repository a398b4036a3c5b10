// The client's address: X-Forwarded-For is believed only from a proxy on the
// loopback interface (the same rule as Express's `trust proxy` for the app).
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

export const TRUST_PROXY = 'loopback';
const trusted = proxyaddr.compile(TRUST_PROXY);

export function clientIp(req: IncomingMessage): string {
  return proxyaddr(req, trusted) || 'unknown';
}
