// The smallest workflows a sign-in could run (bench/serverFloors.ts): nothing, and two local
// activities that do nothing, the shape of jitProvisioning without its database calls.
import { proxyLocalActivities } from '@temporalio/workflow';

const { nothing } = proxyLocalActivities<{ nothing(): Promise<void> }>({ startToCloseTimeout: '10s' });

export function emptyRun(): Promise<string> {
  return Promise.resolve('done');
}

export async function twoLocalActivities(): Promise<string> {
  await nothing();
  await nothing();
  return 'done';
}
