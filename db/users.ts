import type { UserId } from '../domain/ids';
import type { EmailVerification } from '../domain/signInPolicy';
import type { Collections, UserDoc } from './collections';

export function findUserById(c: Collections, userId: string): Promise<UserDoc | null> {
  return c.users.findOne({ _id: userId as UserId });
}

/** `email` must already be normalized (domain/email.ts); the unique index is on that form. */
export function findUserByEmail(c: Collections, email: string): Promise<UserDoc | null> {
  return c.users.findOne({ email });
}

/** Accounts older than email proof have no field at all: they count as unproven. */
export function emailVerificationOf(user: UserDoc): EmailVerification | null {
  return user.emailVerified ?? null;
}

export function isEmailProven(user: UserDoc): boolean {
  return emailVerificationOf(user) !== null;
}

export function newUserDoc(
  id: UserId,
  fields: {
    email: string;
    emailVerified: EmailVerification | null;
    name?: string | null;
    avatarUrl?: string | null;
    passwordHash?: string | null;
  },
  now: Date,
): UserDoc {
  return {
    _id: id,
    email: fields.email,
    emailVerified: fields.emailVerified,
    name: fields.name ?? null,
    avatarUrl: fields.avatarUrl ?? null,
    passwordHash: fields.passwordHash ?? null,
    needsPasswordSetup: false,
    totpSecret: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The mailbox's owner entered the sign-up code: the account gets the password and name chosen
 * with that sign-up, and nothing an unproven party may have set before (a legacy password or
 * TOTP secret) survives. Matches only while the account is unproven (`null` also matches the
 * absent field), so a code can never rewrite the credentials of a proven account.
 */
export async function proveEmailWithCode(
  c: Collections,
  userId: UserId,
  fields: { passwordHash: string | null; name: string | null },
  now: Date,
): Promise<boolean> {
  const result = await c.users.updateOne(
    { _id: userId, emailVerified: null },
    {
      $set: {
        emailVerified: { at: now, method: 'email_code' },
        passwordHash: fields.passwordHash,
        needsPasswordSetup: fields.passwordHash === null,
        totpSecret: null,
        ...(fields.name !== null ? { name: fields.name } : {}),
        updatedAt: now,
      },
    },
  );
  return result.matchedCount === 1;
}

/**
 * An IdP of a verified domain vouched for the email of an unproven account: the account becomes
 * the IdP user's. Its password and TOTP secret go (they were set by whoever typed the address),
 * it needs a password setup if it ever wants one, and the profile comes from the IdP. Conditional
 * on still being unproven, like proveEmailWithCode; sessions and pending codes are the caller's.
 */
export async function reclaimUnprovenUser(
  c: Collections,
  userId: UserId,
  fields: { identityId: string; name: string | null; avatarUrl: string | null },
  now: Date,
): Promise<boolean> {
  const result = await c.users.updateOne(
    { _id: userId, emailVerified: null },
    {
      $set: {
        emailVerified: { at: now, method: 'sso_reclaim', identityId: fields.identityId },
        passwordHash: null,
        needsPasswordSetup: true,
        totpSecret: null,
        name: fields.name,
        avatarUrl: fields.avatarUrl,
        updatedAt: now,
      },
    },
  );
  return result.matchedCount === 1;
}
