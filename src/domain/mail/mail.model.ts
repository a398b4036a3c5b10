// Notification mail as the domain hands it out, and the port through which a
// message leaves Gatehouse (SMTP, in src/integrations/mail).

export type MailTemplate = 'access_shared' | 'admin_granted' | 'welcome';
export type MailStatus = 'pending' | 'sent' | 'failed' | 'blocked' | 'unsent';

/** What a mail in the outbox shows an admin. */
export interface OutboxMail {
  readonly id: string;
  readonly to: string;
  readonly memberId: string | null;
  readonly template: MailTemplate;
  readonly status: MailStatus;
  /** The status in words, e.g. "not sent: no SMTP configured". */
  readonly statusText: string;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly lastError: string | null;
  readonly lastSmtpCode: number | null;
  readonly createdAt: Date;
  readonly sentAt: Date | null;
}

export interface MailAttempt {
  readonly attempt: number;
  readonly at: Date;
  readonly durationMs: number;
  readonly outcome: 'sent' | 'retry' | 'bounced' | 'failed';
  readonly smtpCode: number | null;
  readonly error: string | null;
}

export interface BlockedAddress {
  readonly address: string;
  readonly smtpCode: number | null;
  readonly reason: string;
  readonly mailId: string | null;
  readonly createdAt: Date;
}

export interface MailSettings {
  /** Send a welcome mail to every member Entra provisions through SCIM. */
  readonly scimWelcome: boolean;
}

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export type MailSendResult =
  | { readonly ok: true; readonly messageId: string | null; readonly response: string | null }
  | {
      readonly ok: false;
      /**
       * bounced: the server refused the recipient permanently (5xx at RCPT TO): the address is blocked.
       * rejected: the server refused this message permanently (5xx at DATA): it is not sent again.
       * transient: anything else (4xx, no connection, a timeout, authentication): retried.
       */
      readonly kind: 'bounced' | 'rejected' | 'transient';
      readonly smtpCode: number | null;
      readonly error: string;
    };

/** Sends one message; never throws (a failure is a result). */
export interface MailTransport {
  send(message: MailMessage): Promise<MailSendResult>;
}
