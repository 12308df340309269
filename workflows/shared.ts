// Names, signals, queries and inputs shared by workflows and the clients that start them. This
// module must stay importable outside the workflow sandbox (API) and inside it (bundle).
import { defineQuery, defineSignal, defineUpdate, type LocalActivityOptions } from '@temporalio/workflow';
import type { DomainVerificationTimings } from '../config';
import type { DomainVerificationPhase } from '../domain/domainVerification';
import type { SsoSignInRefusalCode } from '../domain/signInPolicy';
import type { TeardownPhase } from '../domain/teardown';

export interface DomainVerificationInput {
  domainId: string;
  /**
   * The domain record's generation this run works for (see DomainDoc.generation); every write
   * of the run is conditional on it. Absent in runs started before generations existed (= 0).
   */
  generation?: number;
  timings: DomainVerificationTimings;
  /** Carried across continueAsNew. */
  phase?: 'verifying' | 'monitoring';
  startedAtMs?: number;
  checks?: number;
}

export type { DomainVerificationPhase };

export interface DomainVerificationStatus {
  phase: DomainVerificationPhase;
  checks: number;
  nextCheckAtMs: number | null;
}

export const checkNowSignal = defineSignal('checkNow');
export const verificationStatusQuery = defineQuery<DomainVerificationStatus>('status');

export function domainVerificationWorkflowId(domainId: string): string {
  return `domain-verification-${domainId}`;
}

/**
 * Linking and JIT reclaim an unproven account before attaching an identity. Runs started before
 * that step existed replay without it (their history has no such step); every run that reaches
 * this point on current code takes it.
 */
export const RECLAIM_UNPROVEN_ACCOUNTS_PATCH = 'reclaim-unproven-accounts';

/** One delivery run per outbox message: a second start attaches to it or finds it sent. */
export function emailDeliveryWorkflowId(messageId: string): string {
  return `email-delivery-${messageId}`;
}

/**
 * What the ACS hands the sign-in workflow: IDs only. What the IdP said (subject, email, name,
 * attributes) waits in the sign-in attempt document, so none of it lands in Temporal's history.
 */
export interface SsoSignInInput {
  attemptId: string;
  connectorId: string;
  orgId: string;
}

export type SsoSignInResult =
  | { outcome: 'returning' | 'linked' | 'reclaimed' | 'provisioned'; userId: string }
  | { outcome: 'refused'; code: SsoSignInRefusalCode };

export interface IdentityStepInput extends SsoSignInInput {
  role: string;
}

/** The workflow types that provision users; the provisioning routes list these. */
export const PROVISIONING_WORKFLOW_TYPES = ['ssoSignIn', 'jitProvisioning', 'accountLinking'] as const;

/**
 * Sign-in steps are short database operations, run as local activities: a user waits on them, and
 * a local activity costs no round trip through the server (bench/ssoSignIn.ts measured a returning
 * sign-in at about 300 ms p50 with regular activities, 120 ms with local ones). A database outage
 * must not lose a sign-up, so they retry until the sign-in attempt itself expires (7 days,
 * SIGN_IN_ATTEMPT_TTL_MS): then the step fails for good (`sign_in_expired`, or this timeout),
 * which is the run's clear end. Rule violations fail non-retryably at once.
 *
 * The retries must not outgrow Temporal's history limit (51,200 events) in those 7 days. While a
 * local activity retries inside the worker, the worker keeps the workflow task open and
 * heartbeats it every 8 s (80% of the 10 s task timeout), 3 events each: 7 days of that would be
 * about 227,000 events. So only backoffs up to `localRetryThreshold` (5 s) stay in the worker;
 * longer ones wait on a server timer (6 events per retry, measured, plus at most one heartbeat
 * during an attempt of at most 10 s), and the backoff grows to 10 minutes: about 1,000 retries
 * and 9,000 events in 7 days, far below the limit (test/integration/signInWaits.test.ts measures
 * a retry on the real server and checks the sum). Recovery after a long outage can therefore take
 * up to 10 minutes; a short one is retried within seconds.
 */
export const SIGN_IN_ACTIVITY_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '7d',
  localRetryThreshold: '5s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10m' },
};

// Connection teardown (docs/rules.md, rule 10)

export interface ConnectorTeardownInput {
  teardownId: string;
  connectorId: string;
  orgId: string;
  /** Who asked for the deletion (audit): `operator` or `api-key`. */
  requestedBy: string;
  /** End of the grace period (epoch ms): removal starts then, unless restored or expedited. */
  deleteAfterMs: number;
  batchSize: number;
  /** Batches before the run continues as new (bounded history). */
  batchesPerRun: number;
  /** Carried across continueAsNew once removal has started. */
  progress?: TeardownProgress;
}

export interface TeardownProgress {
  phase: TeardownPhase | 'restored';
  /** Identities removed so far, and how many there were when removal started. */
  processed: number;
  total: number | null;
  /** Distinct users per batch whose identity was removed, summed. */
  users: number;
  passwordSetups: number;
  /** Batches done: the next batch's number. */
  batches: number;
  deleteAfterMs: number;
}

export type ConnectorTeardownResult = 'restored' | 'done';

export const teardownProgressQuery = defineQuery<TeardownProgress>('progress');
/** Accepted only during the grace period; answers once the connection is active again. */
export const restoreTeardownUpdate = defineUpdate<TeardownProgress, [{ requestedBy: string }]>('restore');
/** Ends the grace period now (operators); a teardown already removing is left as it is. */
export const expediteTeardownUpdate = defineUpdate<TeardownProgress, []>('expedite');

export function connectorTeardownWorkflowId(teardownId: string): string {
  return `connector-teardown-${teardownId}`;
}

// IdP certificate expiry and metadata refresh (workflows/certificateCheck.ts)

/** The schedule that runs the check, one per task queue (see temporal/schedules.ts). */
export function certificateCheckScheduleId(taskQueue: string): string {
  return `certificate-check-${taskQueue}`;
}

export interface CertificateCheckTotals {
  /** SAML connections looked at. */
  connections: number;
  /** Connections whose certificates changed with their metadata URL's document. */
  refreshed: number;
  /** Metadata URLs that could not be read (or described another IdP): certificates kept. */
  refreshFailures: number;
  /** Expiry notices due (each recorded and sent once, however often it is due). */
  notices: number;
  /** Connections whose check failed after its retries; the next day's run tries again. */
  failed: number;
}

export interface CertificateCheckInput {
  /** Connections per page and pages per run; the defaults suit production (tests make them small). */
  pageSize?: number;
  pagesPerRun?: number;
  /** Carried across continueAsNew: the last connection ID done, and the totals so far. */
  after?: string | null;
  totals?: CertificateCheckTotals;
}
