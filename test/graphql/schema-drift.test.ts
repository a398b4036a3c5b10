import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printGraphqlSchema } from '../../src/graphql/print.js';

describe('schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema:print` after changing it)', async () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(await printGraphqlSchema()).toBe(committed);
  });

  it('never exposes secrets', async () => {
    const sdl = await printGraphqlSchema();
    expect(sdl).not.toMatch(/privateKey|tokenHash|keyHash|\bpassword\b/i);
    expect(sdl).toMatch(/accessChanges\(/);
  });
});
