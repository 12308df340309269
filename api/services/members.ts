// What an organization may see of a person: its members only, and only the SSO identities of its
// own connections.
import type { MembershipDoc, SsoIdentityDoc, UserDoc } from '../../db/collections';
import { membershipId } from '../../db/memberships';
import { DomainError } from '../../domain/errors';
import type { OrgId, UserId } from '../../domain/ids';
import type { ApiDeps } from '../context';

export interface OrgMember {
  user: UserDoc;
  membership: MembershipDoc;
  identities: SsoIdentityDoc[];
}

export async function orgMember(deps: ApiDeps, orgId: OrgId, userId: UserId): Promise<OrgMember> {
  const [membership, user] = await Promise.all([
    deps.c.memberships.findOne({ _id: membershipId(orgId, userId) }),
    deps.c.users.findOne({ _id: userId }),
  ]);
  if (!membership || !user) throw new DomainError('not_found', 'User not found in this organization');
  const identities = await deps.c.ssoIdentities.find({ userId: user._id, orgId }).toArray();
  return { user, membership, identities };
}
