// Sends webhook requests over HTTP(S), guarded against server-side request
// forgery: an endpoint URL is chosen by an organisation's admin, so it must not
// reach Gatehouse's own network. Every address a name resolves to is checked
// in the lookup the connection itself uses (so a DNS answer cannot change
// between the check and the connection), IP literals are checked before
// connecting, and only public unicast addresses are allowed unless the
// operator allows private networks (WEBHOOK_ALLOW_PRIVATE_NETWORKS). Each
// attempt has one deadline for everything (connect, headers, body), reads at
// most a small part of the answer, and follows a redirect only to the same
// origin (307/308, at most 3); a redirect elsewhere fails the attempt.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { OutboundRequest, WebhookSender } from '../../domain/webhooks/webhook.model.js';

export interface HttpWebhookSenderOptions {
  readonly timeoutMs: number;
  readonly allowPrivateNetworks: boolean;
  /** Bytes of an answer read at most (the rest is not read). */
  readonly maxResponseBytes?: number;
  readonly maxRedirects?: number;
}

const EXCERPT_CHARS = 1024;

/** Why `address` may not be connected to, or null when it may. */
export function refusedAddress(address: string, allowPrivate: boolean): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return `"${address}" is not an IP address`;
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  if (range === 'unicast') return null;
  // Multicast, broadcast and "this network" are never a web server.
  if (allowPrivate && !['multicast', 'broadcast', 'unspecified'].includes(range)) return null;
  return `${address} is a ${range} address (private and loopback receivers need WEBHOOK_ALLOW_PRIVATE_NETWORKS=on)`;
}

class RefusedAddress extends Error {}

export function createHttpWebhookSender(opts: HttpWebhookSenderOptions): WebhookSender & { close(): void } {
  const maxBytes = opts.maxResponseBytes ?? 64 * 1024;
  const maxRedirects = opts.maxRedirects ?? 3;
  const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 8 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 8 }) };

  // The lookup every connection uses: all addresses of the name must be allowed.
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      for (const a of list) {
        const why = refusedAddress(a.address, opts.allowPrivateNetworks);
        if (why) return callback(new RefusedAddress(`${hostname} resolves to ${why}`), '', 0);
      }
      if (list.length === 0) return callback(new Error(`${hostname} has no address`), '', 0);
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };

  const once = (url: URL, req: OutboundRequest, deadline: number): Promise<{ status: number; location: string | null; excerpt: string }> =>
    new Promise((resolve, reject) => {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (net.isIP(host)) {
        const why = refusedAddress(host, opts.allowPrivateNetworks);
        if (why) return reject(new RefusedAddress(why));
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return reject(new Error(`no answer within ${opts.timeoutMs} ms`));
      const body = Buffer.from(req.body, 'utf8');
      const r = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        agent: agents[url.protocol as 'http:' | 'https:'],
        lookup,
        headers: { ...req.headers, 'content-length': String(body.length) },
      });
      const timer = setTimeout(() => r.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), remaining);
      r.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(timer);
          const loc = res.headers.location;
          resolve({ status: res.statusCode ?? 0, location: typeof loc === 'string' ? loc : null, excerpt: Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS) });
        };
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= maxBytes) chunks.push(c);
          // Enough read: the rest of a large answer is not worth the time.
          if (size >= maxBytes) {
            res.removeAllListeners('data');
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      r.end(body);
    });

  return {
    async send(req) {
      const started = Date.now();
      const deadline = started + opts.timeoutMs;
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return { status: null, error: 'the endpoint URL is not valid', durationMs: 0, responseExcerpt: null };
      }
      const origin = url.origin;
      try {
        for (let hop = 0; ; hop++) {
          const answer = await once(url, req, deadline);
          const redirect = [301, 302, 303, 307, 308].includes(answer.status) && answer.location !== null;
          if (!redirect) return { status: answer.status, error: null, durationMs: Date.now() - started, responseExcerpt: answer.excerpt };
          let next: URL;
          try {
            next = new URL(answer.location!, url);
          } catch {
            return { status: answer.status, error: 'redirect to an invalid URL not followed', durationMs: Date.now() - started, responseExcerpt: answer.excerpt };
          }
          if (next.origin !== origin) {
            return { status: answer.status, error: `redirect to another host (${next.host}) not followed`, durationMs: Date.now() - started, responseExcerpt: answer.excerpt };
          }
          // 301/302/303 would turn the POST into a GET: the event would not arrive.
          if (answer.status !== 307 && answer.status !== 308) {
            return { status: answer.status, error: `redirect (${answer.status}) not followed: only 307 and 308 keep the POST`, durationMs: Date.now() - started, responseExcerpt: answer.excerpt };
          }
          if (hop >= maxRedirects) return { status: answer.status, error: `more than ${maxRedirects} redirects`, durationMs: Date.now() - started, responseExcerpt: answer.excerpt };
          url = next;
        }
      } catch (e) {
        const message = e instanceof RefusedAddress ? `address refused: ${e.message}` : e instanceof Error ? e.message : String(e);
        return { status: null, error: message.slice(0, 500), durationMs: Date.now() - started, responseExcerpt: null };
      }
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
