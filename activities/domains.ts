// Domain verification activities. Every write names the verification run it belongs to (the
// domain's generation) and the state it expects, so a late or retried attempt of an earlier run
// matches nothing. Each step after a status change is idempotent on its own (claims keyed by the
// name and run, audit events keyed by the transition), so a retry that finds the status already
// changed finishes the steps a crash interrupted instead of returning early.
import type { Collections, DomainDoc } from '../db/collections';
import { recordAuditEvent } from '../db/audit';
import { releaseDomainTie, restoreDomainTie } from '../db/connectors';
import { atGeneration, claimDomainName, generationOf, releaseAllClaims, releaseClaim } from '../db/domains';
import type { DomainId } from '../domain/ids';
import {
  nextMissingSince,
  recordMatches,
  reverificationOutcome,
  txtRecordFor,
} from '../domain/domainVerification';
import type { TxtLookup } from './dns';

export interface DomainActivityDeps {
  c: Collections;
  clock: () => Date;
  lookupTxt: TxtLookup;
}

export const DOMAIN_FAILURE_REASONS = {
  deadline: 'The TXT record was not found before the verification deadline',
  taken: 'This domain is already verified by another organization',
} as const;

/** The run asking is no longer the domain's: a newer run took over, or its turn already ended. */
type Superseded = 'superseded';

interface RunInput {
  domainId: string;
  /** The domain generation the run was started for; runs started before generations pass none. */
  generation?: number;
}

export function createDomainActivities({ c, clock, lookupTxt }: DomainActivityDeps) {
  async function recordPresent(domain: DomainDoc): Promise<boolean> {
    const record = txtRecordFor(domain.domain, domain.token);
    const answer = await lookupTxt(record.name);
    return answer.found && recordMatches(answer.records, record.value);
  }

  /** What follows `verified`; safe to repeat. */
  async function finishVerified(domain: DomainDoc, generation: number, now: Date): Promise<void> {
    await restoreDomainTie(c, domain.domain, domain.orgId);
    await recordAuditEvent(
      c,
      {
        eventId: `domain.verified:${domain._id}:${generation}`,
        type: 'domain.verified',
        orgId: domain.orgId,
        subjectId: domain._id,
      },
      now,
    );
  }

  /** What follows `unverified`; safe to repeat. */
  async function finishUnverified(domain: DomainDoc, generation: number, now: Date): Promise<void> {
    await releaseClaim(c, domain.domain, domain._id, generation);
    await releaseDomainTie(c, domain.domain, domain.orgId);
    await recordAuditEvent(
      c,
      {
        eventId: `domain.unverified:${domain._id}:${generation}`,
        type: 'domain.unverified',
        orgId: domain.orgId,
        subjectId: domain._id,
      },
      now,
    );
  }

  /** The record as the run may act on it, or why it may not. */
  async function loadForRun(
    domainId: DomainId,
    generation: number,
  ): Promise<DomainDoc | 'deleted' | Superseded> {
    const domain = await c.domains.findOne({ _id: domainId });
    if (!domain) {
      // Deleted, perhaps while an earlier attempt was claiming: nothing may keep its name.
      await releaseAllClaims(c, domainId);
      return 'deleted';
    }
    return generationOf(domain) === generation ? domain : 'superseded';
  }

  return {
    async checkDomainRecord({
      domainId,
      generation = 0,
    }: RunInput): Promise<'verified' | 'not_found' | 'taken' | 'deleted' | Superseded> {
      const id = domainId as DomainId;
      const domain = await loadForRun(id, generation);
      if (typeof domain === 'string') return domain;
      if (domain.status === 'verified') {
        // Verified by this run already (perhaps by an attempt that died before finishing).
        await finishVerified(domain, generation, clock());
        return 'verified';
      }
      if (domain.status !== 'pending') return 'superseded';

      const present = await recordPresent(domain);
      const now = clock();
      const thisRun = { _id: id, ...atGeneration<DomainDoc>(generation) };
      await c.domains.updateOne(thisRun, {
        $inc: { checks: 1 },
        $set: { lastCheckedAt: now, updatedAt: now },
      });
      if (!present) return 'not_found';
      if (!(await claimDomainName(c, domain, generation, now))) {
        await c.domains.updateOne(
          { ...thisRun, status: 'pending' },
          { $set: { status: 'failed', failureReason: DOMAIN_FAILURE_REASONS.taken, updatedAt: now } },
        );
        return 'taken';
      }
      await c.domains.updateOne(
        { ...thisRun, status: 'pending' },
        {
          $set: {
            status: 'verified',
            verifiedAt: now,
            failureReason: null,
            missingSince: null,
            updatedAt: now,
          },
        },
      );
      // The lookup can take long: the domain may have been deleted, or ended at its deadline,
      // meanwhile. Read it after claiming, so either this check or the deletion sees the claim.
      const after = await loadForRun(id, generation);
      if (after === 'deleted') return after;
      if (after === 'superseded' || after.status !== 'verified') {
        await releaseClaim(c, domain.domain, id, generation);
        return 'superseded';
      }
      await finishVerified(after, generation, now);
      return 'verified';
    },

    /**
     * Ends a run at its deadline. A check that verified the domain first wins ('verified': the
     * run goes on watching it); a claim left by a check attempt that died is released.
     */
    async markDomainFailed({
      domainId,
      generation = 0,
      reason,
    }: RunInput & { reason: keyof typeof DOMAIN_FAILURE_REASONS }): Promise<
      'failed' | 'verified' | 'deleted' | Superseded
    > {
      const id = domainId as DomainId;
      const now = clock();
      await c.domains.updateOne(
        { _id: id, status: 'pending', ...atGeneration<DomainDoc>(generation) },
        { $set: { status: 'failed', failureReason: DOMAIN_FAILURE_REASONS[reason], updatedAt: now } },
      );
      const domain = await loadForRun(id, generation);
      if (typeof domain === 'string') return domain;
      if (domain.status === 'verified') return 'verified';
      if (domain.status !== 'failed') return 'superseded';
      await releaseClaim(c, domain.domain, id, generation);
      return 'failed';
    },

    /** Periodic re-check of a verified domain: a missing record is tolerated for `graceMs`. */
    async recheckVerifiedDomain({
      domainId,
      generation = 0,
      graceMs,
    }: RunInput & { graceMs: number }): Promise<
      'verified' | 'grace' | 'unverified' | 'deleted' | Superseded
    > {
      const id = domainId as DomainId;
      const domain = await loadForRun(id, generation);
      if (typeof domain === 'string') return domain;
      let now = clock();
      if (domain.status === 'verified') {
        const found = await recordPresent(domain);
        now = clock();
        const outcome = reverificationOutcome({ found, missingSince: domain.missingSince, now, graceMs });
        const thisRun = { _id: id, status: 'verified' as const, ...atGeneration<DomainDoc>(generation) };
        if (outcome !== 'unverified') {
          // nextMissingSince keeps the first time the record was seen missing: grace counts from there.
          const missingSince = nextMissingSince({ found, missingSince: domain.missingSince, now });
          await c.domains.updateOne(thisRun, { $set: { missingSince, lastCheckedAt: now, updatedAt: now } });
          return outcome;
        }
        await c.domains.updateOne(thisRun, {
          $set: {
            status: 'unverified',
            failureReason: 'The TXT record disappeared and did not come back within the grace period',
            lastCheckedAt: now,
            updatedAt: now,
          },
        });
        const after = await loadForRun(id, generation);
        if (after === 'deleted') return after;
      } else if (domain.status !== 'unverified') {
        return 'superseded';
      }
      // Unverified in this run, now or by an attempt that died before releasing what it held.
      await finishUnverified(domain, generation, now);
      return 'unverified';
    },
  };
}
