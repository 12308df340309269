// A worker process for the fault tests: the wiring of worker.ts (configuration from the
// environment, openServices, createWorker) with the test run's prebuilt workflow bundle
// (WORKFLOW_BUNDLE_PATH), loaded and connected but not polling until a line arrives on stdin. A
// test keeps one of these ready and promotes it the moment it SIGKILLs the running worker, so a
// kill costs no start-up time and twenty of them fit in a test file.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadConfig } from '../../config';
import { running } from '../../runtime/runWorker';
import { endpointsFromConfig, openServices } from '../../runtime/services';
import { installTemporalRuntime } from '../../temporal/runtime';
import { createWorker } from '../../temporal/worker';

const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
if (!bundlePath) throw new Error('WORKFLOW_BUNDLE_PATH is required');
const config = loadConfig();
const services = await openServices(config, endpointsFromConfig(config));
installTemporalRuntime(services.logger);
const { worker, connection } = await createWorker({
  address: services.temporalAddress,
  namespace: config.temporalNamespace,
  taskQueue: config.temporalTaskQueue,
  deps: {
    config,
    c: services.c,
    clock: services.clock,
    logger: services.logger,
    keys: services.keys,
  },
  workflowBundle: { code: await readFile(bundlePath, 'utf8') },
});
process.stdout.write('standby\n');
await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
const run = running(worker, connection);
process.stdout.write('worker running\n');
await run.done;
await services.close();
