// The error catalogue is closed: a code no aggregate declares does not
// compile (checked by `npm run typecheck`, which reads the @ts-expect-error
// lines below), and each edge answers every kind with the shared rules.
import { describe, expect, it } from 'vitest';
import { Conflict, Invalid, NotFound, RateLimited, retryAfterSeconds, Unavailable, type ErrorCode } from '../../src/domain/errors.js';
import { httpStatusOf } from '../../src/http/errors.js';
import { scimErrorOf, ScimProtocolError } from '../../src/scim/errors.js';

describe('error catalogue', () => {
  it('takes declared codes only', () => {
    const known: ErrorCode = 'user_name_taken';
    // @ts-expect-error: no aggregate declares this code
    const unknown: ErrorCode = 'user_name_takne';
    // @ts-expect-error: SCIM's protocol errors are the edge's own, not the domain's
    const protocol: ErrorCode = 'invalid_path';
    expect([known, unknown, protocol]).toHaveLength(3);
    expect(new NotFound('member', 'x').code).toBe('member_not_found');
  });

  it('has one Retry-After rule: the limiter\'s window, a dependency\'s own hint, else 5 s; none for a refusal', () => {
    expect(retryAfterSeconds(new RateLimited(17))).toBe(17);
    expect(retryAfterSeconds(new Unavailable('database_unavailable', 'away'))).toBe(5);
    expect(retryAfterSeconds(new Unavailable('entra_throttled', 'slow down', { retryAfterSeconds: 90.2 }))).toBe(91);
    expect(retryAfterSeconds(new Conflict('user_name_taken', 'taken'))).toBeUndefined();
    expect(scimErrorOf(new RateLimited(17))?.headers).toEqual({ 'Retry-After': '17' });
    expect(scimErrorOf(new Unavailable('database_unavailable', 'away'))?.headers).toEqual({ 'Retry-After': '5' });
  });

  it('answers SCIM protocol errors with their scimType and domain rules by kind', () => {
    expect(scimErrorOf(new ScimProtocolError('invalidPath', 'bad path'))?.body).toMatchObject({ status: '400', scimType: 'invalidPath', detail: 'bad path' });
    expect(scimErrorOf(new Invalid('invalid_filter', 'unknown attribute'))?.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect(scimErrorOf(new Conflict('user_name_taken', 'taken'))?.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect(scimErrorOf(new Error('a fault'))).toBeUndefined();
    expect(httpStatusOf('rate_limited')).toBe(429);
  });
});
