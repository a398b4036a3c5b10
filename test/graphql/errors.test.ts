import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthenticated, Unavailable, type DomainError } from '../../src/domain/errors.js';
import { createFormatError, extensionsFor } from '../../src/graphql/errors.js';

describe('GraphQL error mapping', () => {
  it('maps every domain error kind to its extensions.code', () => {
    const cases: [DomainError, Record<string, unknown>][] = [
      [new NotFound('member', 'x'), { code: 'NOT_FOUND', reason: 'member_not_found' }],
      [new Invalid('too_long', 'too long', 'displayName'), { code: 'BAD_USER_INPUT', field: 'displayName', reason: 'too_long' }],
      [new Forbidden('group_managed_by_scim', 'no'), { code: 'FORBIDDEN', reason: 'group_managed_by_scim' }],
      [new Unauthenticated('invalid_api_key', 'no'), { code: 'UNAUTHENTICATED' }],
      [new Conflict('user_name_taken', 'taken', { field: 'userName' }), { code: 'CONFLICT', field: 'userName' }],
      [new RateLimited(30), { code: 'RATE_LIMITED', retryAfterSeconds: 30 }],
      [new Unavailable('database_unavailable', 'down'), { code: 'SERVICE_UNAVAILABLE' }],
    ];
    for (const [e, ext] of cases) expect(extensionsFor(e)).toMatchObject(ext);
  });

  it('answers unknown errors with a generic message and logs them once', () => {
    const logged: unknown[] = [];
    const format = createFormatError({ error: (obj) => logged.push(obj) });
    const cause = new Error('relation "members" does not exist at character 15');
    const wrapped = new GraphQLError(cause.message, { originalError: cause, path: ['members'] });
    const out = format({ message: cause.message, path: ['members'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['x'] } }, wrapped);
    expect(out).toEqual({ message: 'Internal server error', path: ['members'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(logged).toHaveLength(1);

    const domain = new GraphQLError('nope', { originalError: new Forbidden('admin_role_required', 'Only an administrator may do this'), path: ['scimStatus'] });
    expect(format({ message: 'nope', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, domain)).toMatchObject({
      message: 'Only an administrator may do this',
      extensions: { code: 'FORBIDDEN', reason: 'admin_role_required' },
    });
    expect(logged).toHaveLength(1);
  });
});
