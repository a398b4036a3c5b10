import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config.js';

export type { Logger };

/** JSON logs; credentials are redacted wherever they could appear. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'gatehouse' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'token', 'key', '*.token', '*.key', '*.password', '*.secret'],
      censor: '[redacted]',
    },
  });
}
