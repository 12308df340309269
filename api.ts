// Entry point: the HTTP API alone (scale it separately from the worker).
import { loadConfig } from './config';
import { runApi } from './runtime/runApi';
import { endpointsFromConfig, openServices } from './runtime/services';
import { onShutdownSignal } from './runtime/shutdown';

const config = loadConfig();
const services = await openServices(config, endpointsFromConfig(config));
const api = await runApi(services);
services.logger.info({ url: api.url }, 'API listening');
onShutdownSignal(
  async () => {
    await api.close();
    await services.close();
  },
  (message) => services.logger.info(message),
);
