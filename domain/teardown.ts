// Connection teardown (docs/rules.md, rule 10) as pure decisions: what happens to a user whose
// SSO identity goes, and which requests a teardown accepts in which phase. The workflow
// (workflows/connectorTeardown.ts) and its activities (activities/teardown.ts) apply them.

/**
 * waiting: the grace period, restorable; removing: identities are being removed (no way back);
 * done: the connection is gone.
 */
export type TeardownPhase = 'waiting' | 'removing' | 'done';

export const TEARDOWN_PHASES = ['waiting', 'removing', 'done'] as const;

export interface RemainingWaysIn {
  hasPassword: boolean;
  /** SSO identities the user keeps at other connections that are still active. */
  otherActiveIdentities: number;
}

/**
 * A user losing an SSO identity keeps their account whatever happens. One left with no password
 * and no other working connection could not sign in at all: they need a password setup (a
 * one-time link). Everyone else keeps working as they are. A connection that is itself being
 * deleted is no way in, so its identities do not count (two teardowns at once still guide the
 * user to a password).
 */
export function fallbackFor(user: RemainingWaysIn): 'keep' | 'password_setup' {
  return user.hasPassword || user.otherActiveIdentities > 0 ? 'keep' : 'password_setup';
}

/** Restore is possible only while nothing has been removed: during the grace period. */
export function canRestore(phase: TeardownPhase): boolean {
  return phase === 'waiting';
}

/** When removal may start: the grace period counted from the DELETE request. */
export function deleteAfter(requestedAt: Date, graceMs: number): Date {
  return new Date(requestedAt.getTime() + graceMs);
}
