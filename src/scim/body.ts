// Reading a SCIM request body on bare node:http: JSON of any shape (the
// handlers decide what fits), as `application/scim+json` or `application/json`,
// UTF-8, optionally gzip/deflate/br-encoded, at most `limit` bytes once decoded.
// raw-body (the reader under Express's body-parser) does the counting and the
// stream's errors; what Express's JSON parser did is kept: another media type
// leaves the body unread (undefined), an empty body is `{}`.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import getRawBody from 'raw-body';
import { HostileJson, parseJsonGuarded } from '../http/json-guard.js';
import { scimError, type ScimErrorResponse } from './errors.js';

const JSON_TYPES = new Set(['application/json', 'application/scim+json']);

/** A body that cannot be read: its SCIM error. Whatever of it was not read is left to `discardBody`. */
export class BodyError extends Error {
  constructor(readonly response: ScimErrorResponse) {
    super(response.body.detail);
  }
}

/**
 * Reads off and drops what is left of a request body that will not be used, so
 * that a client which sends its whole body before it reads the answer (as
 * .NET's HttpClient does) gets the answer, not a broken pipe, and the
 * connection stays usable (as Express's body-parser did). Resolves true once
 * the body has ended, false when more than `maxBytes` came (or the client went
 * away): then the connection should close.
 */
export function discardBody(req: IncomingMessage, maxBytes: number): Promise<boolean> {
  if (req.readableEnded || !hasBody(req)) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const done = (ok: boolean) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      if (!ok) req.pause();
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(false);
    req.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
    req.resume();
  });
}

/** Whether the request carries a body at all (RFC 9112 §6.3: a length or a transfer coding). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/** The media type (lower-cased, without parameters) and the charset parameter of a Content-Type. */
function parseContentType(header: string | undefined): { type: string; charset: string | undefined } {
  if (!header) return { type: '', charset: undefined };
  const [type = '', ...params] = header.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() === 'charset') charset = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase() || undefined;
  }
  return { type: type.trim().toLowerCase(), charset };
}

function decoder(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

/**
 * The parsed JSON body; `undefined` when there is none or it is not JSON by
 * its Content-Type. Throws BodyError (400, 413 or 415).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!hasBody(req)) return undefined;
  const { type, charset } = parseContentType(req.headers['content-type']);
  if (!JSON_TYPES.has(type)) return undefined;
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new BodyError(scimError(415, `The request body must be UTF-8, not ${charset}`));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let stream: Readable = req;
  let inflate: ReturnType<typeof decoder>;
  if (encoding !== 'identity') {
    inflate = decoder(encoding);
    if (!inflate) throw new BodyError(scimError(415, `Content-Encoding ${encoding} is not supported (gzip, deflate, br or none)`));
    // A request that errors (the client went away) ends the decoder too, so the read below settles.
    req.once('error', (e) => inflate!.destroy(e));
    stream = req.pipe(inflate);
  }
  let text: string;
  try {
    text = await getRawBody(stream, {
      limit,
      // A declared length is checked against what arrives (only known before decoding).
      length: inflate ? undefined : req.headers['content-length'],
      encoding: 'utf8',
    });
  } catch (e) {
    if (inflate) {
      req.unpipe(inflate);
      inflate.destroy();
    }
    const kind = (e as { type?: string }).type;
    if (kind === 'entity.too.large') throw new BodyError(scimError(413, `The request body is larger than ${limit} bytes`));
    if (kind === 'request.size.invalid') throw new BodyError(scimError(400, 'The request body is shorter or longer than its Content-Length', 'invalidSyntax'));
    if (kind === 'request.aborted') throw new BodyError(scimError(400, 'The request body ended early', 'invalidSyntax'));
    throw new BodyError(scimError(400, inflate ? `The request body is not valid ${encoding}` : 'The request body could not be read', 'invalidSyntax'));
  }
  if (text.length === 0) return {};
  try {
    // Refuses nesting past MAX_JSON_DEPTH and strings that are not well-formed Unicode, before any handler.
    return parseJsonGuarded(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (e instanceof HostileJson) throw new BodyError(scimError(400, e.message, 'invalidSyntax'));
    throw new BodyError(scimError(400, 'The request body is not valid JSON', 'invalidSyntax'));
  }
}
