// SSO identities (connection + subject → user) and the facts a sign-in reads around them.
import { createHash } from 'node:crypto';
import type { UserId } from '../domain/ids';
import type { Collections, ConnectorDoc } from './collections';

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');

/** One identity per connection and subject, whichever sign-in writes it first. */
export function identityId(connectorId: string, subject: string): string {
  return `${connectorId}:${digest(subject)}`;
}

/**
 * A returning identity's sign-in, in one round trip: refreshes the profile and last sign-in of
 * the identity if it exists, and answers its user (null for an identity not seen before). Never
 * creates one (linking and JIT do, in their workflows), and sets the same values when repeated,
 * so a retried or concurrent callback changes nothing twice.
 */
export async function refreshIdentity(
  c: Collections,
  id: string,
  profile: Record<string, string | string[]>,
  now: Date,
): Promise<UserId | null> {
  // No projection: FerretDB v1 does not implement one on findAndModify.
  const identity = await c.ssoIdentities.findOneAndUpdate(
    { _id: id },
    { $set: { profile, lastSignInAt: now } },
  );
  return identity?.userId ?? null;
}

/** The connection's domains its organization still has verified (rule 5; grace keeps them verified). */
export async function verifiedDomainsOf(
  c: Collections,
  connector: Pick<ConnectorDoc, 'orgId' | 'domains'>,
): Promise<string[]> {
  const verified = await c.domains
    .find(
      { orgId: connector.orgId, domain: { $in: connector.domains }, status: 'verified' },
      { projection: { domain: 1 } },
    )
    .toArray();
  return verified.map((domain) => domain.domain);
}
