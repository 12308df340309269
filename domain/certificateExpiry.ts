// IdP signing certificates as pure decisions: how many days one has left, which expiry notice is
// due (30, 14 and 7 days before, and once expired), and what a refreshed metadata document
// changes in the set a connection trusts. The daily check (workflows/certificateCheck.ts) and the
// connection view apply them.

const DAY_MS = 86_400_000;

/** Days before `notAfter` at which the org hears about it, widest first. */
export const EXPIRY_NOTICE_DAYS = [30, 14, 7] as const;

/**
 * Membership roles whose members get the notices: the organization's administrators. Other
 * members cannot fix an IdP certificate; everyone with access to the audit log sees the event.
 */
export const EXPIRY_NOTICE_ROLES = ['owner', 'admin'] as const;

/** A notice: one of the thresholds, or the certificate has expired. */
export type ExpiryNotice = (typeof EXPIRY_NOTICE_DAYS)[number] | 'expired';

export interface CertificateFacts {
  /** SHA-256 fingerprint as node:crypto writes it (`AB:CD:…`). */
  sha256: string;
  notAfter: Date;
}

/**
 * Whole days until `notAfter`, rounded down: 0 on its last day, negative once it has passed.
 * The notices use the same count, so "expires in 14 days" in an email matches the API's daysLeft.
 */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/**
 * The most urgent notice due for a certificate, or null when it has more than 30 days left.
 * Only the tightest threshold is due: a certificate first seen with 10 days left gets the 14-day
 * notice, never a late "30 days" one. Each notice is sent once (its ID names the threshold), so
 * a daily run sends 30, then 14, then 7, then expired, each when it falls due.
 */
export function dueExpiryNotice(notAfter: Date, now: Date): ExpiryNotice | null {
  const left = daysLeft(notAfter, now);
  if (left < 0) return 'expired';
  let due: ExpiryNotice | null = null;
  for (const threshold of EXPIRY_NOTICE_DAYS) if (left <= threshold) due = threshold;
  return due;
}

/**
 * Whether another certificate of the same connection stays valid past this one: then the
 * connection keeps working after it expires if the IdP signs with that one, which the notice says.
 */
export function hasSuccessor(certificate: CertificateFacts, all: readonly CertificateFacts[]): boolean {
  return all.some(
    (other) =>
      other.sha256 !== certificate.sha256 && other.notAfter.getTime() > certificate.notAfter.getTime(),
  );
}

export interface CertificateChange {
  added: string[];
  removed: string[];
}

/**
 * What applying the IdP's listed certificates changes (by fingerprint). The IdP's document is the
 * list: a certificate stays while the IdP lists it, a new one is added, one it no longer lists
 * is dropped. An empty listing changes nothing (a broken document must not leave the connection
 * with no certificate); the caller keeps the current set then.
 */
export function certificateChange(current: readonly string[], listed: readonly string[]): CertificateChange {
  if (listed.length === 0) return { added: [], removed: [] };
  return {
    added: listed.filter((sha256) => !current.includes(sha256)),
    removed: current.filter((sha256) => !listed.includes(sha256)),
  };
}
