// Rules of DNS TXT domain verification, free of I/O and clocks so the workflow can apply them
// deterministically (it passes `now` from workflow time) and tests can pin every edge.

/**
 * The TXT record lives on its own underscore label, as ACME (`_acme-challenge`) and most SaaS
 * vendors do: it never collides with the apex's SPF/site-verification TXT records, and an
 * underscore name cannot be a host name, so it cannot clash with a real service.
 */
export const VERIFICATION_RECORD_PREFIX = '_sso-verification';
export const VERIFICATION_VALUE_PREFIX = 'sso-verification=';

/** A domain record's status, as stored and shown (db DomainDoc.status, the API's domain view). */
export const DOMAIN_STATUSES = ['pending', 'verified', 'failed', 'unverified'] as const;
export type DomainStatus = (typeof DOMAIN_STATUSES)[number];

/**
 * Where a domainVerification run stands (its status query and its result). `deleted`: the record
 * is gone; `superseded`: a newer run took the domain over (verification was restarted), so this
 * one ended. `verified` is never reached by current runs (they go on `monitoring`) but stays
 * readable for runs recorded before.
 */
export type DomainVerificationPhase =
  'verifying' | 'monitoring' | 'verified' | 'failed' | 'unverified' | 'deleted' | 'superseded';

// The one mapping between the two vocabularies; both tables are total, so a new status or phase
// does not compile until it is placed here.
const PHASE_OF_STATUS: Record<DomainStatus, DomainVerificationPhase> = {
  pending: 'verifying',
  verified: 'monitoring',
  failed: 'failed',
  unverified: 'unverified',
};
const STATUS_OF_PHASE: Record<DomainVerificationPhase, DomainStatus | null> = {
  verifying: 'pending',
  monitoring: 'verified',
  verified: 'verified',
  failed: 'failed',
  unverified: 'unverified',
  deleted: null,
  superseded: null,
};

/** The phase of the run that owns a record in this status. */
export function phaseOfStatus(status: DomainStatus): DomainVerificationPhase {
  return PHASE_OF_STATUS[status];
}

/** The record status a run's phase stands for; null when the run no longer speaks for a record. */
export function statusOfPhase(phase: DomainVerificationPhase): DomainStatus | null {
  return STATUS_OF_PHASE[phase];
}

/** Whether the run owning a record in this status still checks it (verifying or monitoring). */
export function isVerificationRunning(status: DomainStatus): boolean {
  const phase = phaseOfStatus(status);
  return phase === 'verifying' || phase === 'monitoring';
}

export interface TxtRecord {
  name: string;
  value: string;
}

/** The record an admin must publish; `domain` is in canonical form (normalizeDomain). */
export function txtRecordFor(domain: string, token: string): TxtRecord {
  return { name: `${VERIFICATION_RECORD_PREFIX}.${domain}`, value: `${VERIFICATION_VALUE_PREFIX}${token}` };
}

/**
 * Whether any published TXT record carries exactly the expected value. A TXT record arrives as
 * 255-octet chunks that are one string joined without separators (RFC 7208 §3.3 reads them the
 * same way). Surrounding whitespace and one pair of surrounding double quotes are forgiven:
 * several DNS control panels store the quotes an admin pasted as part of the value.
 */
export function recordMatches(txtStrings: readonly (readonly string[])[], expectedValue: string): boolean {
  return txtStrings.some((chunks) => unquote(chunks.join('').trim()) === expectedValue);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1).trim()
    : value;
}

export interface BackoffOptions {
  initialIntervalMs: number;
  maxIntervalMs: number;
}

/**
 * How long to wait after `checks` checks before the next one: doubling from the initial
 * interval up to the cap (1, 2, 4, 8, 15, 15, ... minutes by default). Admins often add the
 * record minutes after asking, so early checks are frequent; later ones are sparse because the
 * record usually arrives hours later, if at all, and each check is a query to public DNS.
 */
export function nextCheckDelay(checks: number, { initialIntervalMs, maxIntervalMs }: BackoffOptions): number {
  const doublings = Math.max(0, Math.floor(checks) - 1);
  // Beyond ~50 doublings the product overflows to Infinity; the cap applies long before.
  const delay = initialIntervalMs * 2 ** Math.min(doublings, 50);
  return Math.min(Math.max(delay, 0), maxIntervalMs);
}

export function verificationDeadlineReached(startedAt: Date, now: Date, deadlineMs: number): boolean {
  return now.getTime() - startedAt.getTime() >= deadlineMs;
}

/** The failure reason stored and shown when verification gives up. */
export function verificationTimeoutReason(record: TxtRecord, deadlineMs: number): string {
  return `No TXT record "${record.name}" with value "${record.value}" was found within ${formatDuration(deadlineMs)}`;
}

function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}

export type ReverificationOutcome = 'verified' | 'grace' | 'unverified';

export interface ReverificationFacts {
  found: boolean;
  /** When the record was first seen missing since the domain was last verified; null while present. */
  missingSince: Date | null;
  now: Date;
  graceMs: number;
}

/**
 * Periodic re-verification. A record that disappears is not fatal at once: DNS migrations and
 * flaky providers drop records for hours, and unverifying a domain ends SSO enforcement for a
 * whole company. Only a record missing for the full grace period unverifies the domain; a record
 * that comes back in time resets the clock (see nextMissingSince).
 */
export function reverificationOutcome({
  found,
  missingSince,
  now,
  graceMs,
}: ReverificationFacts): ReverificationOutcome {
  if (found) return 'verified';
  const missingForMs = now.getTime() - (missingSince ?? now).getTime();
  return missingForMs >= graceMs ? 'unverified' : 'grace';
}

/** The `missingSince` to store after a re-verification check. */
export function nextMissingSince({
  found,
  missingSince,
  now,
}: Omit<ReverificationFacts, 'graceMs'>): Date | null {
  if (found) return null;
  return missingSince ?? now;
}
