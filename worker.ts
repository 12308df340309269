// Entry point: the Temporal worker alone (scale it separately from the API). Production unless
// NODE_ENV says otherwise: it refuses to start without strong ADMIN_TOKEN and SESSION_SECRET.
import { loadConfig } from './config';
import { runWorker } from './runtime/runWorker';
import { endpointsFromConfig, openServices } from './runtime/services';
import { startEntryPoint } from './runtime/startup';

startEntryPoint(async () => {
  const config = loadConfig();
  const services = await openServices(config, endpointsFromConfig(config));
  const worker = await runWorker(services);
  services.logger.info({ taskQueue: config.temporalTaskQueue }, 'worker running');
  // The Temporal runtime already shuts the worker down on SIGINT/SIGTERM; close the rest after it.
  await worker.done;
  await services.close();
});
