// The Temporal Schedules this deployment runs, created or brought up to date by every worker at
// startup. Several workers start side by side (replicas, a rolling deployment): whichever creates
// a schedule first wins, the others find it and only update it when their settings differ.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Logger } from '../logger';
import type { certificateCheck } from '../workflows/certificateCheck';
import { certificateCheckScheduleId } from '../workflows/shared';

export interface CertificateCheckScheduleSettings {
  taskQueue: string;
  intervalMs: number;
}

function certificateCheckAction(
  settings: CertificateCheckScheduleSettings,
): ScheduleOptionsStartWorkflowAction<typeof certificateCheck> {
  return {
    type: 'startWorkflow',
    workflowType: 'certificateCheck',
    taskQueue: settings.taskQueue,
    // Temporal appends the scheduled time, so each day's run has its own ID.
    workflowId: certificateCheckScheduleId(settings.taskQueue),
    args: [{}],
    staticSummary: 'IdP certificate expiry check and metadata refresh',
  };
}

const policies = {
  // A run still going when the next is due (a slow IdP, many connections) is not doubled.
  overlap: ScheduleOverlapPolicy.SKIP,
  // After a Temporal outage one missed run is enough: the check looks at today's state anyway.
  catchupWindow: '1 day',
} as const;

function isUpToDate(description: ScheduleDescription, settings: CertificateCheckScheduleSettings): boolean {
  const [interval, ...others] = description.spec.intervals ?? [];
  return (
    others.length === 0 &&
    // Temporal keeps intervals in whole seconds.
    interval?.every === Math.round(settings.intervalMs / 1000) * 1000 &&
    description.action.workflowType === 'certificateCheck' &&
    description.action.taskQueue === settings.taskQueue &&
    description.policies.overlap === policies.overlap
  );
}

/**
 * The daily certificate check (workflows/certificateCheck.ts), one schedule per task queue: the
 * task queue names a deployment (tests give each file its own), so two deployments sharing a
 * Temporal namespace never run each other's check.
 */
export async function ensureCertificateCheckSchedule(
  client: Client,
  settings: CertificateCheckScheduleSettings,
  logger: Logger,
): Promise<void> {
  const scheduleId = certificateCheckScheduleId(settings.taskQueue);
  const spec = { intervals: [{ every: settings.intervalMs }] };
  try {
    await client.schedule.create({ scheduleId, spec, action: certificateCheckAction(settings), policies });
    logger.info({ scheduleId, intervalMs: settings.intervalMs }, 'certificate check scheduled');
    return;
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  if (isUpToDate(await handle.describe(), settings)) return;
  // Two workers updating at once write the same settings; the last write is as good as the first.
  await handle.update((previous) => ({
    ...previous,
    spec,
    action: certificateCheckAction(settings),
    policies: { ...previous.policies, ...policies },
  }));
  logger.info({ scheduleId, intervalMs: settings.intervalMs }, 'certificate check schedule updated');
}
