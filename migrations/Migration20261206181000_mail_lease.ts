import { Migration } from '@mikro-orm/migrations';

// A lease per outbox message: the process that claims a mail writes its claim
// token; it renews the lease (token unchanged) right before it hands the mail
// to the SMTP server and records the attempt only while it still holds it. A
// mail whose lease ran out while it waited in a process's batch is taken over
// by another process (a new token) and the first one skips it: two processes
// never send the same mail at once (at least once still: a process that dies
// after sending lets its lease run out and the mail is sent again).
export class Migration20261206181000_mail_lease extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table mail_outbox add column claim_token uuid;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table mail_outbox drop column if exists claim_token;`);
  }
}
