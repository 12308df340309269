import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app';
import type { Services } from './services';
import { createSamlValidator } from '../sso/saml/validationPool';

const CLOSE_GRACE_MS = 10_000;

export interface RunningApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function runApi(services: Services, port = services.config.port): Promise<RunningApi> {
  const samlValidator = createSamlValidator(services.config.samlValidationThreads);
  const app = createApp({
    config: services.config,
    db: services.mongo.db,
    c: services.c,
    temporal: services.temporal,
    logger: services.logger,
    clock: services.clock,
    keys: services.keys,
    samlValidator,
  });
  const handle = app.callback();
  const server = createServer((req, res) => void handle(req, res));
  // Bound how long a slow client may hold a connection open while sending headers or body.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, services.config.host, resolve);
  });
  const { port: actualPort } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${services.config.host === '0.0.0.0' ? '127.0.0.1' : services.config.host}:${actualPort}`,
    // In-flight requests (an ACS waiting for its sign-in workflow) may finish; idle keep-alive
    // connections close now, and whatever is still open after the grace period is cut.
    close: () =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          void samlValidator.close().then(resolve, resolve);
        });
        server.closeIdleConnections();
      }),
  };
}
