// Domain verification activities. Each write is safe to repeat: the claim is keyed by the domain
// name (one organization per verified domain), status changes are conditional $set, and audit
// events have deterministic IDs.
import { ApplicationFailure } from '@temporalio/activity';
import type { DomainDoc } from '../db/collections';
import { isDuplicateKeyError, type Collections } from '../db/collections';
import { recordAuditEvent } from '../db/audit';
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

export function createDomainActivities({ c, clock, lookupTxt }: DomainActivityDeps) {
  async function recordPresent(domain: DomainDoc): Promise<boolean> {
    const record = txtRecordFor(domain.domain, domain.token);
    const answer = await lookupTxt(record.name);
    return answer.found && recordMatches(answer.records, record.value);
  }

  /** Claims the name for the domain's org; false when another org holds it. */
  async function claim(domain: DomainDoc, now: Date): Promise<boolean> {
    try {
      await c.domainClaims.insertOne({
        _id: domain.domain,
        orgId: domain.orgId,
        domainId: domain._id,
        claimedAt: now,
      });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const existing = await c.domainClaims.findOne({ _id: domain.domain });
      if (!existing) throw ApplicationFailure.retryable('domain claim vanished while reading it');
      return existing.orgId === domain.orgId;
    }
  }

  return {
    async checkDomainRecord({
      domainId,
    }: {
      domainId: string;
    }): Promise<'verified' | 'not_found' | 'taken' | 'deleted'> {
      const domain = await c.domains.findOne({ _id: domainId as DomainId });
      if (!domain) return 'deleted';
      if (domain.status === 'verified') return 'verified';
      const present = await recordPresent(domain);
      const now = clock();
      await c.domains.updateOne(
        { _id: domain._id },
        { $inc: { checks: 1 }, $set: { lastCheckedAt: now, updatedAt: now } },
      );
      if (!present) return 'not_found';
      if (!(await claim(domain, now))) {
        await c.domains.updateOne(
          { _id: domain._id, status: 'pending' },
          { $set: { status: 'failed', failureReason: DOMAIN_FAILURE_REASONS.taken, updatedAt: now } },
        );
        return 'taken';
      }
      await c.domains.updateOne(
        { _id: domain._id, status: { $ne: 'verified' } },
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
      await recordAuditEvent(
        c,
        {
          eventId: `domain.verified:${domain._id}:${domain.token}`,
          type: 'domain.verified',
          orgId: domain.orgId,
          subjectId: domain._id,
        },
        now,
      );
      return 'verified';
    },

    async markDomainFailed({
      domainId,
      reason,
    }: {
      domainId: string;
      reason: keyof typeof DOMAIN_FAILURE_REASONS;
    }): Promise<void> {
      const now = clock();
      await c.domains.updateOne(
        { _id: domainId as DomainId, status: 'pending' },
        { $set: { status: 'failed', failureReason: DOMAIN_FAILURE_REASONS[reason], updatedAt: now } },
      );
    },

    /** Periodic re-check of a verified domain: a missing record is tolerated for `graceMs`. */
    async recheckVerifiedDomain({
      domainId,
      graceMs,
    }: {
      domainId: string;
      graceMs: number;
    }): Promise<'verified' | 'grace' | 'unverified' | 'deleted'> {
      const domain = await c.domains.findOne({ _id: domainId as DomainId });
      if (!domain || domain.status !== 'verified') return domain ? 'unverified' : 'deleted';
      const found = await recordPresent(domain);
      const now = clock();
      const outcome = reverificationOutcome({ found, missingSince: domain.missingSince, now, graceMs });
      if (outcome !== 'unverified') {
        // nextMissingSince keeps the first time the record was seen missing: grace counts from there.
        const missingSince = nextMissingSince({ found, missingSince: domain.missingSince, now });
        await c.domains.updateOne(
          { _id: domain._id },
          { $set: { missingSince, lastCheckedAt: now, updatedAt: now } },
        );
      } else {
        await c.domains.updateOne(
          { _id: domain._id, status: 'verified' },
          {
            $set: {
              status: 'unverified',
              failureReason: 'The TXT record disappeared and did not come back within the grace period',
              lastCheckedAt: now,
              updatedAt: now,
            },
          },
        );
        await c.domainClaims.deleteOne({ _id: domain.domain, domainId: domain._id });
        await recordAuditEvent(
          c,
          {
            eventId: `domain.unverified:${domain._id}:${domain.verifiedAt?.toISOString() ?? ''}`,
            type: 'domain.unverified',
            orgId: domain.orgId,
            subjectId: domain._id,
          },
          now,
        );
      }
      return outcome;
    },
  };
}
