// Entry point for `npm run dev`: everything in one process on embedded defaults. Without
// MONGODB_URI / TEMPORAL_ADDRESS it starts a local Temporal dev server (with its Web UI) and a
// MongoDB-protocol server, both keeping data under DATA_DIR (./.data by default). It is the one
// start that may fall back to the public development ADMIN_TOKEN and SESSION_SECRET.
import path from 'node:path';
import { DEV_ADMIN_TOKEN, loadConfig } from './config';
import { runApi } from './runtime/runApi';
import { runWorker } from './runtime/runWorker';
import { openServices } from './runtime/services';
import { onShutdownSignal } from './runtime/shutdown';
import { startEntryPoint } from './runtime/startup';
import { startServers } from './servers';

startEntryPoint(async () => {
  const config = loadConfig(undefined, { developmentDefaults: true });
  const needsServers = !config.mongodbUri || !config.temporalAddress;
  const embedded = needsServers
    ? await startServers({ dataDir: path.resolve(config.dataDir), headless: false })
    : undefined;

  const services = await openServices(config, {
    mongodbUri: config.mongodbUri ?? embedded!.mongoUri,
    temporalAddress: config.temporalAddress ?? embedded!.temporalAddress,
  });
  const worker = await runWorker(services);
  const api = await runApi(services);

  const lines = [
    `API:              ${api.url}  (public URL ${config.publicUrl})`,
    `Readiness:        ${api.url}/readyz`,
    `Temporal:         ${services.temporalAddress}  namespace ${config.temporalNamespace}, task queue ${config.temporalTaskQueue}`,
    `Temporal Web UI:  ${embedded?.temporalUiUrl ?? '(external server: see its own UI)'}`,
    `MongoDB:          ${config.mongodbUri ? 'from MONGODB_URI' : `${embedded!.mongoUri} (${embedded!.mongoKind})`}, database ${config.mongodbDb}`,
    `Operator token:   ${config.adminToken === DEV_ADMIN_TOKEN ? `${DEV_ADMIN_TOKEN} (dev default; set ADMIN_TOKEN)` : 'from ADMIN_TOKEN'}`,
  ];
  process.stdout.write(
    `\nSSO provisioning backend is running\n${lines.map((l) => `  ${l}`).join('\n')}\n\nCtrl-C stops everything.\n`,
  );

  onShutdownSignal(
    async () => {
      await api.close();
      await worker.shutdown();
      await services.close();
      await embedded?.stop();
    },
    (message) => services.logger.info(message),
  );
});
