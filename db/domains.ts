// Domain records and the claims on their names. A claim (`_id` = the name) says which
// organization's domain holds a name; it is written by the verification run that found the TXT
// record, tagged with that run's generation, so only that run (or the domain's deletion) undoes it.
import type { Filter } from 'mongodb';
import type { DomainId, OrgId } from '../domain/ids';
import { isDuplicateKeyError, type Collections, type DomainClaimDoc, type DomainDoc } from './collections';

/** A freshly added domain: pending, never checked, owned by its first verification run. */
export function newDomainDoc(
  id: DomainId,
  fields: { orgId: OrgId; domain: string; token: string },
  now: Date,
): DomainDoc {
  return {
    _id: id,
    ...fields,
    status: 'pending',
    checks: 0,
    lastCheckedAt: null,
    verifiedAt: null,
    failureReason: null,
    missingSince: null,
    generation: 1,
    createdAt: now,
    updatedAt: now,
  };
}

/** A record's generation; records from before generations existed count as 0. */
export function generationOf(doc: { generation?: number }): number {
  return doc.generation ?? 0;
}

/** Matches documents of `generation`, including those written before the field existed (0). */
export function atGeneration<T extends { generation?: number }>(generation: number): Filter<T> {
  return (
    generation === 0 ? { $or: [{ generation: 0 }, { generation: { $exists: false } }] } : { generation }
  ) as Filter<T>;
}

/**
 * The claim on `name`, if a domain still stands behind it: its record exists, belongs to the run
 * that claimed it, and is pending (being verified now) or verified. Any other claim is an
 * orphan (its domain was deleted or ended while a check ran) and is removed here, so a name is
 * never blocked for good by a domain that no longer holds it.
 */
export async function liveClaim(c: Collections, name: string): Promise<DomainClaimDoc | null> {
  const claim = await c.domainClaims.findOne({ _id: name });
  if (!claim) return null;
  const domain = await c.domains.findOne({ _id: claim.domainId });
  const stands =
    domain !== null &&
    generationOf(domain) === generationOf(claim) &&
    (domain.status === 'pending' || domain.status === 'verified');
  if (stands) return claim;
  // Conditional on what was read: a claim written meanwhile by a live run stays.
  await c.domainClaims.deleteOne({ _id: name, domainId: claim.domainId, claimedAt: claim.claimedAt });
  return null;
}

/**
 * Claims the domain's name for its organization on behalf of run `generation`: true when the
 * organization holds it now (a repeated claim is harmless), false when another one does.
 */
export async function claimDomainName(
  c: Collections,
  domain: DomainDoc,
  generation: number,
  now: Date,
): Promise<boolean> {
  // Each round either inserts, finds a live claim, or removes an orphan; a few rounds settle it.
  for (let round = 0; round < 3; round++) {
    try {
      await c.domainClaims.insertOne({
        _id: domain.domain,
        orgId: domain.orgId,
        domainId: domain._id,
        generation,
        claimedAt: now,
      });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const existing = await liveClaim(c, domain.domain);
    if (existing) return existing.orgId === domain.orgId;
  }
  throw new Error('the claim on this domain name kept changing; try again');
}

/** Releases the claim run `generation` of the domain made; a later run's claim stays. */
export async function releaseClaim(
  c: Collections,
  name: string,
  domainId: DomainId,
  generation: number,
): Promise<void> {
  await c.domainClaims.deleteOne({ _id: name, domainId, ...atGeneration<DomainClaimDoc>(generation) });
}

/** Releases every claim of a domain that no longer exists, whichever run made it. */
export async function releaseAllClaims(c: Collections, domainId: DomainId): Promise<void> {
  await c.domainClaims.deleteMany({ domainId });
}

/** Inserts a new domain record, or returns the organization's existing one for the same name. */
export async function addDomainRecord(
  c: Collections,
  fields: { id: DomainId; orgId: OrgId; domain: string; token: string },
  now: Date,
): Promise<{ domain: DomainDoc; created: boolean }> {
  const existing = await c.domains.findOne({ orgId: fields.orgId, domain: fields.domain });
  if (existing) return { domain: existing, created: false };
  const { id, ...rest } = fields;
  const domain = newDomainDoc(id, rest, now);
  try {
    await c.domains.insertOne(domain);
    return { domain, created: true };
  } catch (error) {
    // A concurrent add of the same name won the unique (orgId, domain) index: use its record.
    if (!isDuplicateKeyError(error)) throw error;
    const winner = await c.domains.findOne({ orgId: fields.orgId, domain: fields.domain });
    if (!winner) throw error;
    return { domain: winner, created: false };
  }
}
