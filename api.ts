// Entry point: the HTTP API alone (scale it separately from the worker). Production unless
// NODE_ENV says otherwise: it refuses to start without strong ADMIN_TOKEN and SESSION_SECRET.
import { loadConfig } from './config';
import { runApi } from './runtime/runApi';
import { endpointsFromConfig, openServices } from './runtime/services';
import { onShutdownSignal } from './runtime/shutdown';
import { startEntryPoint } from './runtime/startup';

startEntryPoint(async () => {
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
});
