import type { UserId } from '../domain/ids';
import type { Collections, UserDoc } from './collections';

export function findUserById(c: Collections, userId: string): Promise<UserDoc | null> {
  return c.users.findOne({ _id: userId as UserId });
}

/** `email` must already be normalized (domain/email.ts); the unique index is on that form. */
export function findUserByEmail(c: Collections, email: string): Promise<UserDoc | null> {
  return c.users.findOne({ email });
}

export function newUserDoc(
  id: UserId,
  fields: { email: string; name?: string | null; avatarUrl?: string | null; passwordHash?: string | null },
  now: Date,
): UserDoc {
  return {
    _id: id,
    email: fields.email,
    name: fields.name ?? null,
    avatarUrl: fields.avatarUrl ?? null,
    passwordHash: fields.passwordHash ?? null,
    needsPasswordSetup: false,
    totpSecret: null,
    createdAt: now,
    updatedAt: now,
  };
}
