// Once per `vitest run`: start a Temporal dev server and a MongoDB-protocol server under a
// temporary directory, bundle the workflow code, and hand all three to the test files (see
// test/helpers/provided.ts). Tests always get servers of their own, never ones from the
// environment, so a run cannot touch someone's data; if a server cannot be obtained, the run
// fails with an error saying what to install or set.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';

import { startServers } from '../servers';
import { WORKFLOWS_PATH } from '../temporal/worker';
import type {} from './helpers/provided';

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'sso-test-'));
  const cleanUp = () => rm(dir, { recursive: true, force: true });
  const [servers, bundle] = await Promise.allSettled([
    startServers({ dataDir: join(dir, 'servers'), headless: true }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') }),
  ]);
  if (servers.status === 'rejected' || bundle.status === 'rejected') {
    if (servers.status === 'fulfilled') await servers.value.stop();
    await cleanUp();
    throw servers.status === 'rejected' ? servers.reason : (bundle as PromiseRejectedResult).reason;
  }

  const workflowBundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.value.code);
  project.provide('temporalAddress', servers.value.temporalAddress);
  project.provide('mongoUri', servers.value.mongoUri);
  project.provide('mongoKind', servers.value.mongoKind);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await servers.value.stop();
    await cleanUp();
  };
}
