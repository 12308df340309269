// Adding, re-checking and deleting a domain: each is one record change plus the verification run
// that goes with it. The record comes first and the run is started idempotently from it (its
// workflow ID is the domain's), so a start lost to a Temporal outage is repaired by the next
// call instead of leaving a domain that can be neither verified nor added again.
import type { DomainDoc } from '../../db/collections';
import { addDomainRecord, atGeneration, generationOf, liveClaim, releaseAllClaims } from '../../db/domains';
import { newId } from '../../db/ids';
import { isVerificationRunning } from '../../domain/domainVerification';
import { DomainError } from '../../domain/errors';
import type { DomainId, OrgId } from '../../domain/ids';
import { randomToken } from '../../security/tokens';
import type { ApiDeps } from '../context';
import { startDomainVerification, stopDomainVerification, wakeDomainVerification } from '../workflowClient';

/** Runs a call into Temporal; an outage becomes "try again", which repairs what it missed. */
async function reachTemporal(deps: ApiDeps, domain: DomainDoc, call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    deps.logger.warn(
      {
        domainId: domain._id,
        errorName: (error as Error)?.name,
        errorCode: (error as { code?: unknown })?.code,
      },
      'domain verification run could not be started or signalled',
    );
    throw new DomainError(
      'try_again_later',
      'The domain is saved, but its verification could not be started; repeat the request shortly',
    );
  }
}

/**
 * Adds the domain, or finds it already added by this organization, and makes sure a pending one
 * has its verification run. Adding the same pending domain again is how a run whose start failed
 * is repaired; any other state of an existing domain is a conflict (verify restarts those).
 */
export async function addDomain(
  deps: ApiDeps,
  orgId: OrgId,
  name: string,
): Promise<{ domain: DomainDoc; created: boolean }> {
  const claim = await liveClaim(deps.c, name);
  // Which organization holds it is not said: that would leak who their customers are.
  if (claim && claim.orgId !== orgId) throw new DomainError('domain_taken');
  const added = await addDomainRecord(
    deps.c,
    { id: newId<DomainId>('dom'), orgId, domain: name, token: randomToken(24) },
    deps.clock(),
  );
  if (added.domain.status !== 'pending')
    throw new DomainError('conflict', 'This organization has already added this domain');
  await reachTemporal(deps, added.domain, () => startDomainVerification(deps, added.domain, 'USE_EXISTING'));
  return added;
}

/**
 * "Check now". A failed or unverified domain starts over under a new generation: a run still
 * finishing for the old one is replaced, and its late writes match nothing. Otherwise the
 * domain's run is woken, or started if it has none (signal-with-start), so concurrent clicks
 * and a run that is just closing both end with one run checking.
 */
export async function verifyDomain(deps: ApiDeps, domain: DomainDoc): Promise<DomainDoc> {
  if (!isVerificationRunning(domain.status)) {
    const restarted = await deps.c.domains.findOneAndUpdate(
      { _id: domain._id, status: domain.status, ...atGeneration<DomainDoc>(generationOf(domain)) },
      {
        $set: {
          status: 'pending',
          failureReason: null,
          checks: 0,
          missingSince: null,
          updatedAt: deps.clock(),
        },
        $inc: { generation: 1 },
      },
      { returnDocument: 'after' },
    );
    if (restarted) {
      await reachTemporal(deps, restarted, () =>
        startDomainVerification(deps, restarted, 'TERMINATE_EXISTING'),
      );
      return restarted;
    }
    // Another request restarted it first: wake the run that one started.
    const current = await deps.c.domains.findOne({ _id: domain._id });
    if (!current) throw new DomainError('not_found', 'Domain not found');
    domain = current;
  }
  const current = domain;
  await reachTemporal(deps, current, () => wakeDomainVerification(deps, current));
  return current;
}

/**
 * Deletes the domain and releases its name whatever runs: the record goes first, then every
 * claim of the domain, so a check that claims meanwhile either sees no record afterwards and
 * releases its claim itself, or claimed before this and its claim goes here.
 */
export async function deleteDomain(deps: ApiDeps, domain: DomainDoc): Promise<void> {
  if (await deps.c.connectorDomains.findOne({ _id: domain.domain, orgId: domain.orgId })) {
    throw new DomainError(
      'domain_in_use',
      'A connection uses this domain; remove it from the connection first',
    );
  }
  await deps.c.domains.deleteOne({ _id: domain._id });
  await releaseAllClaims(deps.c, domain._id);
  try {
    await stopDomainVerification(deps, domain, 'domain deleted');
  } catch (error) {
    // A run that cannot be stopped now ends by itself: its next check finds no record.
    deps.logger.warn(
      { domainId: domain._id, errorName: (error as Error)?.name },
      'verification run of a deleted domain could not be terminated',
    );
  }
}
