// Break-glass accounts: when an organization's IdP is down, SSO enforcement would lock everyone
// out, including the admins who could fix it. An org admin may therefore exempt a few named
// members (BREAK_GLASS_MAX) from enforcement; each must have TOTP confirmed, so the way around SSO
// is still two factors, and every sign-in through it is audited (api/services/enforcement.ts).
import { addBreakGlass, listBreakGlass, removeBreakGlass } from '../../db/breakGlass';
import type { BreakGlassDoc, OrgDoc } from '../../db/collections';
import { membershipId } from '../../db/memberships';
import { DomainError } from '../../domain/errors';
import type { UserId } from '../../domain/ids';
import type { ApiDeps } from '../context';
import { audit } from './enforcement';

export function breakGlassView(doc: BreakGlassDoc) {
  return { userId: doc.userId, createdAt: doc.createdAt.toISOString() };
}

/** Exempts a member; idempotent (`created` false when it already was). */
export async function grantBreakGlass(
  deps: ApiDeps,
  org: OrgDoc,
  userId: UserId,
): Promise<{ doc: BreakGlassDoc; created: boolean }> {
  const [membership, user] = await Promise.all([
    deps.c.memberships.findOne({ _id: membershipId(org._id, userId) }),
    deps.c.users.findOne({ _id: userId }),
  ]);
  if (!membership || !user) throw new DomainError('not_found', 'User not found in this organization');
  if (user.totpSecret === null)
    throw new DomainError('mfa_not_enrolled', 'A break-glass account must have TOTP confirmed first');
  const added = await addBreakGlass(deps.c, org._id, userId, deps.config.breakGlassMax, deps.clock());
  if (!added) throw new DomainError('break_glass_limit', undefined, { max: deps.config.breakGlassMax });
  if (added.created) await audit(deps, { type: 'break_glass.granted', orgId: org._id, subjectId: userId });
  return added;
}

export async function revokeBreakGlass(deps: ApiDeps, org: OrgDoc, userId: UserId): Promise<void> {
  if (!(await removeBreakGlass(deps.c, org._id, userId)))
    throw new DomainError('not_found', 'This user is not a break-glass account of this organization');
  await audit(deps, { type: 'break_glass.revoked', orgId: org._id, subjectId: userId });
}

export async function breakGlassAccounts(deps: ApiDeps, org: OrgDoc) {
  return {
    accounts: (await listBreakGlass(deps.c, org._id)).map(breakGlassView),
    max: deps.config.breakGlassMax,
  };
}
