import { Migration } from '@mikro-orm/migrations';

// Counters of failed authentications, shared by every Gatehouse process.
// Failures whose organisation is unknown (a wrong token) count under the nil
// organisation id, so the table still leads every key with organization_id.
export class Migration20261123050000_rate_limits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rate_limits (
        organization_id uuid not null,
        bucket text not null,
        window_start timestamptz not null,
        count integer not null default 0,
        primary key (organization_id, bucket, window_start)
      );
      create index rate_limits_window_idx on rate_limits (window_start);
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists rate_limits;');
  }
}
