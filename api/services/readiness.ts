// Readiness: whether the API can reach what every request may need. Each probe is bounded, so a
// hung dependency answers "unavailable" in seconds instead of hanging the probe.
import { pingMongo } from '../../db/client';
import type { ApiDeps } from '../context';
import { TIMED_OUT, withinBound } from '../withinBound';
import { pingTemporal } from '../workflowClient';

export type CheckState = 'ok' | 'unavailable';

async function check(
  name: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
): Promise<[string, CheckState]> {
  try {
    return [name, (await withinBound(probe(), timeoutMs)) === TIMED_OUT ? 'unavailable' : 'ok'];
  } catch {
    return [name, 'unavailable'];
  }
}

export async function readinessChecks(deps: ApiDeps): Promise<Record<string, CheckState>> {
  return Object.fromEntries(
    await Promise.all([
      check('mongodb', () => pingMongo(deps.db), 3_000),
      check('temporal', () => pingTemporal(deps), 3_000),
    ]),
  );
}
