// A local SMTP server for the tests (the `smtp-server` package), with
// STARTTLS on a self-signed certificate, optional authentication, and
// recipients that bounce (550), are deferred (451) or accepted. Received
// messages are parsed with mailparser.
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface SmtpStandIn {
  readonly port: number;
  /** Parsed messages, in arrival order. */
  readonly messages: ParsedMail[];
  /** Envelope recipients seen at RCPT TO (accepted or not). */
  readonly rcpts: string[];
  /** Addresses refused with 550 at RCPT TO (a hard bounce). */
  readonly bouncing: Set<string>;
  /** Addresses refused with 451 at RCPT TO (try again later). */
  readonly deferring: Set<string>;
  close(): Promise<void>;
}

let cert: { key: string; cert: string } | undefined;
function selfSigned(): { key: string; cert: string } {
  if (cert) return cert;
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const c = forge.pki.createCertificate();
  c.publicKey = keys.publicKey;
  c.serialNumber = '01';
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  const attrs = [{ name: 'commonName', value: '127.0.0.1' }];
  c.setSubject(attrs);
  c.setIssuer(attrs);
  c.sign(keys.privateKey, forge.md.sha256.create());
  return (cert = { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(c) });
}

export async function startSmtp(
  opts: { auth?: { user: string; pass: string }; starttls?: boolean; greeting?: 'refuse'; /** Accepts each message only after this long (a slow server). */ dataDelayMs?: number } = {},
): Promise<SmtpStandIn> {
  const messages: ParsedMail[] = [];
  const rcpts: string[] = [];
  const bouncing = new Set<string>();
  const deferring = new Set<string>();
  const tls = opts.starttls ?? true;
  const options: SMTPServerOptions = {
    ...(tls ? selfSigned() : {}),
    disabledCommands: [...(tls ? [] : ['STARTTLS']), ...(opts.auth ? [] : ['AUTH'])],
    authOptional: !opts.auth,
    // Plain-text AUTH only after STARTTLS when TLS is offered (as real servers do).
    allowInsecureAuth: !tls,
    logger: false,
    // A slow server's held messages are dropped at close instead of awaited.
    ...(opts.dataDelayMs ? { closeTimeout: 200 } : {}),
    onConnect(_session, callback) {
      if (opts.greeting === 'refuse') {
        const e = new Error('Service unavailable, go away') as Error & { responseCode: number };
        e.responseCode = 554;
        return callback(e);
      }
      callback();
    },
    onAuth(auth, _session, callback) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return callback(null, { user: auth.username });
      callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      const a = address.address.toLowerCase();
      rcpts.push(a);
      const fail = (code: number, text: string) => {
        const e = new Error(text) as Error & { responseCode: number };
        e.responseCode = code;
        callback(e);
      };
      if (bouncing.has(a)) return fail(550, '5.1.1 User unknown: mailbox unavailable');
      if (deferring.has(a)) return fail(451, '4.3.0 Mailbox busy, try again later');
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (m) => {
          messages.push(m);
          if (opts.dataDelayMs) setTimeout(() => callback(), opts.dataDelayMs);
          else callback();
        },
        (e: Error) => callback(e),
      );
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    messages,
    rcpts,
    bouncing,
    deferring,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
