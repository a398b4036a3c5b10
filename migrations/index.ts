// Every migration, in order. MikroORM loads this list instead of globbing the
// folder, because its native import() of .ts files fails inside vitest workers.
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000_initial } from './Migration20261123000000_initial.js';
import { Migration20261123020000_saml } from './Migration20261123020000_saml.js';

export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261123000000_initial', class: Migration20261123000000_initial },
  { name: 'Migration20261123020000_saml', class: Migration20261123020000_saml },
];
