// Structured logs. Redaction is the last line of defence: code should not log personal data,
// tokens or SAML payloads at all, but if a header or body slips in, these paths are censored.
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.key',
  '*.email',
  '*.SAMLResponse',
  '*.clientSecret',
];

export function createLogger(level: string, name = 'sso'): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
