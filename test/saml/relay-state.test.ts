// RelayState only ever sends the browser to a path of this site (no open
// redirect): table tests for the known tricks, fast-check for the rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeRelayState } from '../../src/saml/routes.js';

const PUBLIC = 'https://gatehouse.example.com';

describe('RelayState', () => {
  it.each([
    ['/admin', '/admin'],
    ['/doors?site=1#top', '/doors?site=1#top'],
    ['/a/../b', '/b'],
    [undefined, '/'],
    ['', '/'],
    ['https://evil.example', '/'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    // A dot segment that resolves to a protocol-relative target (found by the property below).
    ['/.//evil.example/x', '/'],
    ['/a/..//evil.example', '/'],
    ['/\tevil', '/'],
    ['javascript:alert(1)', '/'],
    [`/${'a'.repeat(1100)}`, '/'],
  ])('%j → %j', (value, expected) => {
    expect(safeRelayState(value, PUBLIC)).toBe(expected);
  });

  it('never leaves the site, whatever is sent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.webPath(), fc.string().map((s) => `/${s}`), fc.string().map((s) => `//${s}`)), (value) => {
        const target = safeRelayState(value, PUBLIC);
        expect(target.startsWith('/')).toBe(true);
        expect(target.startsWith('//')).toBe(false);
        expect(new URL(target, PUBLIC).origin).toBe(PUBLIC);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a plain path of this site as it is', () => {
    fc.assert(
      fc.property(fc.webPath().filter((p) => p.startsWith('/') && !p.startsWith('//') && !/(^|\/)\.\.?(\/|$)/.test(p)), (path) => {
        expect(safeRelayState(path, PUBLIC)).toBe(new URL(path, PUBLIC).pathname);
      }),
      { numRuns: 300 },
    );
  });
});
