// npm run migration:create -- NAME: writes an empty, timestamped migration.
import fs from 'node:fs';
import path from 'node:path';

const name = (process.argv[2] ?? '').replace(/[^A-Za-z0-9_]/g, '_');
if (!name) {
  process.stderr.write('usage: npm run migration:create -- NAME\n');
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
const cls = `Migration${stamp}_${name}`;
const file = path.join('migrations', `${cls}.ts`);
fs.writeFileSync(
  file,
  `import { Migration } from '@mikro-orm/migrations';

export class ${cls} extends Migration {
  override async up(): Promise<void> {
    this.addSql(\`\`);
  }

  override async down(): Promise<void> {
    this.addSql(\`\`);
  }
}
`,
);
process.stdout.write(`Created ${file}: add it to migrations/index.ts and its name to migrations/names.ts\n`);
