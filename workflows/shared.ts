// Names, signals, queries and inputs shared by workflows and the clients that start them. This
// module must stay importable outside the workflow sandbox (API) and inside it (bundle).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DomainVerificationTimings } from '../config';

export interface DomainVerificationInput {
  domainId: string;
  timings: DomainVerificationTimings;
  /** Carried across continueAsNew. */
  phase?: 'verifying' | 'monitoring';
  startedAtMs?: number;
  checks?: number;
}

export type DomainVerificationPhase = 'verifying' | 'monitoring' | 'verified' | 'failed' | 'unverified' | 'deleted';

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
