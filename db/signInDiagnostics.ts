// The record of every SSO sign-in attempt per connection, for the IT admin (sign-in
// diagnostics): outcome, code, and for refusals a hint about the IdP's configuration. Not to be
// confused with db/signInAttempts.ts, which parks what the IdP said about the person for the
// sign-in workflow: this collection holds no profile values, no emails and no NameIDs.
// Kept SIGN_IN_DIAGNOSTICS_TTL: a TTL index where the server takes one (db/indexes.ts), and every
// read filters on `expiresAt`, which is all FerretDB v1 has.
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '../domain/errors';
import type { ConnectorId, OrgId, UserId } from '../domain/ids';
import type { SignInFailureDetails, SignInPath, SignInProtocol } from '../domain/signInDiagnostics';
import type { Collections } from './collections';
import { groupInsert } from './groupCommit';
import { NEWEST_FIRST, olderThan, type PagePosition } from './newestFirst';

export type SignInOutcome = 'succeeded' | 'failed';

export interface SignInDiagnosticDoc {
  _id: string;
  orgId: OrgId;
  connectorId: ConnectorId;
  protocol: SignInProtocol;
  outcome: SignInOutcome;
  /** Succeeded: which way the person got in (null when the sign-in did not say). */
  path: SignInPath | null;
  userId: UserId | null;
  /** Failed: the code the browser got. */
  code: ErrorCode | null;
  hint: string | null;
  details: SignInFailureDetails | null;
  at: Date;
  expiresAt: Date;
}

export type NewSignInDiagnostic = Omit<SignInDiagnosticDoc, '_id' | 'at' | 'expiresAt'>;

export async function insertSignInDiagnostic(
  c: Collections,
  record: NewSignInDiagnostic,
  now: Date,
  ttlMs: number,
): Promise<void> {
  // Grouped with the records other sign-ins write meanwhile (db/groupCommit.ts).
  await groupInsert(c.signInDiagnostics, {
    // Random, so records written at the same millisecond still sort in one stable order.
    _id: `sia_${randomUUID().replaceAll('-', '')}`,
    ...record,
    at: now,
    expiresAt: new Date(now.getTime() + ttlMs),
  });
}

export function listSignInDiagnostics(
  c: Collections,
  query: {
    orgId: OrgId;
    connectorId: ConnectorId;
    outcome?: SignInOutcome;
    after?: PagePosition;
    limit: number;
  },
  now: Date,
): Promise<SignInDiagnosticDoc[]> {
  const after = query.after;
  return c.signInDiagnostics
    .find({
      orgId: query.orgId,
      connectorId: query.connectorId,
      ...(query.outcome ? { outcome: query.outcome } : {}),
      expiresAt: { $gt: now },
      ...(after ? olderThan(after) : {}),
    })
    .sort(NEWEST_FIRST)
    .limit(query.limit)
    .toArray();
}
