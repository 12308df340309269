import { describe, expect, it } from 'vitest';
import {
  DOMAIN_STATUSES,
  isVerificationRunning,
  nextCheckDelay,
  phaseOfStatus,
  statusOfPhase,
  type DomainStatus,
  type DomainVerificationPhase,
  nextMissingSince,
  recordMatches,
  reverificationOutcome,
  txtRecordFor,
  verificationDeadlineReached,
  verificationTimeoutReason,
} from '../../domain/domainVerification';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('verification TXT record', () => {
  it('lives on an underscore label below the domain and carries the token', () => {
    expect(txtRecordFor('example.com', 'tok123')).toEqual({
      name: '_sso-verification.example.com',
      value: 'sso-verification=tok123',
    });
  });
});

describe('matching published TXT records', () => {
  const expected = 'sso-verification=tok123';

  it('matches a record with exactly the expected value', () => {
    expect(recordMatches([['v=spf1 -all'], [expected]], expected)).toBe(true);
  });

  it('joins the chunks of a long record before comparing', () => {
    expect(recordMatches([['sso-verif', 'ication=tok', '123']], expected)).toBe(true);
  });

  it('forgives surrounding whitespace and pasted quotes', () => {
    expect(recordMatches([['  sso-verification=tok123 ']], expected)).toBe(true);
    expect(recordMatches([['"sso-verification=tok123"']], expected)).toBe(true);
  });

  it('does not match a different token, a prefix, or a case change', () => {
    expect(recordMatches([['sso-verification=tok124']], expected)).toBe(false);
    expect(recordMatches([['sso-verification=tok1234']], expected)).toBe(false);
    expect(recordMatches([['sso-verification=TOK123']], expected)).toBe(false);
    expect(recordMatches([['x sso-verification=tok123']], expected)).toBe(false);
  });

  it('does not match when there are no records', () => {
    expect(recordMatches([], expected)).toBe(false);
  });
});

describe('polling backoff', () => {
  const timings = { initialIntervalMs: MINUTE, maxIntervalMs: 15 * MINUTE };

  it('doubles from one minute and levels off at fifteen', () => {
    const delays = [1, 2, 3, 4, 5, 6, 100].map((checks) => nextCheckDelay(checks, timings) / MINUTE);
    expect(delays).toEqual([1, 2, 4, 8, 15, 15, 15]);
  });

  it('waits the initial interval before any check has run', () => {
    expect(nextCheckDelay(0, timings)).toBe(MINUTE);
  });

  it('never overflows for huge check counts', () => {
    expect(nextCheckDelay(1e9, timings)).toBe(15 * MINUTE);
  });
});

describe('verification deadline', () => {
  const startedAt = new Date('2024-01-01T00:00:00Z');

  it('is reached once the full deadline has passed, not before', () => {
    expect(
      verificationDeadlineReached(startedAt, new Date(startedAt.getTime() + 72 * HOUR - 1), 72 * HOUR),
    ).toBe(false);
    expect(verificationDeadlineReached(startedAt, new Date(startedAt.getTime() + 72 * HOUR), 72 * HOUR)).toBe(
      true,
    );
  });

  it('has a failure reason that names the record and the deadline', () => {
    const reason = verificationTimeoutReason(txtRecordFor('example.com', 't'), 72 * HOUR);
    expect(reason).toBe(
      'No TXT record "_sso-verification.example.com" with value "sso-verification=t" was found within 3 days',
    );
    expect(verificationTimeoutReason(txtRecordFor('example.com', 't'), 1_500)).toMatch(/1500 ms$/);
    expect(verificationTimeoutReason(txtRecordFor('example.com', 't'), 86_400_000)).toMatch(/1 day$/);
  });
});

describe('re-verification', () => {
  const now = new Date('2024-01-10T00:00:00Z');
  const graceMs = 72 * HOUR;
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it('stays verified while the record is present', () => {
    expect(reverificationOutcome({ found: true, missingSince: ago(100 * HOUR), now, graceMs })).toBe(
      'verified',
    );
  });

  it('enters grace when the record first goes missing', () => {
    expect(reverificationOutcome({ found: false, missingSince: null, now, graceMs })).toBe('grace');
  });

  it('stays in grace while the record has been missing for less than the grace period', () => {
    expect(reverificationOutcome({ found: false, missingSince: ago(graceMs - 1), now, graceMs })).toBe(
      'grace',
    );
  });

  it('unverifies once the record has been missing for the whole grace period', () => {
    expect(reverificationOutcome({ found: false, missingSince: ago(graceMs), now, graceMs })).toBe(
      'unverified',
    );
  });

  it('unverifies at once when there is no grace period', () => {
    expect(reverificationOutcome({ found: false, missingSince: null, now, graceMs: 0 })).toBe('unverified');
  });

  it('starts the grace clock at the first miss, keeps it, and resets it when the record is back', () => {
    expect(nextMissingSince({ found: false, missingSince: null, now })).toBe(now);
    expect(nextMissingSince({ found: false, missingSince: ago(HOUR), now })).toEqual(ago(HOUR));
    expect(nextMissingSince({ found: true, missingSince: ago(HOUR), now })).toBeNull();
  });
});

describe("a domain's status and its verification run's phase", () => {
  const statuses: [DomainStatus, DomainVerificationPhase, boolean][] = [
    ['pending', 'verifying', true],
    ['verified', 'monitoring', true],
    ['failed', 'failed', false],
    ['unverified', 'unverified', false],
  ];
  const phases: [DomainVerificationPhase, DomainStatus | null][] = [
    ['verifying', 'pending'],
    ['monitoring', 'verified'],
    ['verified', 'verified'],
    ['failed', 'failed'],
    ['unverified', 'unverified'],
    ['deleted', null],
    ['superseded', null],
  ];

  it('covers every status', () => {
    expect(statuses.map(([status]) => status)).toEqual([...DOMAIN_STATUSES]);
  });

  it.each(statuses)(
    'a %s domain is owned by a run that is %s (still checking: %s)',
    (status, phase, running) => {
      expect(phaseOfStatus(status)).toBe(phase);
      expect(isVerificationRunning(status)).toBe(running);
    },
  );

  it.each(phases)('a run that is %s stands for a %s record', (phase, status) => {
    expect(statusOfPhase(phase)).toBe(status);
  });

  it('maps every status to a phase that maps back to it', () => {
    for (const status of DOMAIN_STATUSES) expect(statusOfPhase(phaseOfStatus(status))).toBe(status);
  });
});
