// Opens the shared connections every process needs (MongoDB, Temporal client, logger) once,
// and closes them in reverse order on shutdown.
import type { Client } from '@temporalio/client';
import { ConfigError, type Config } from '../config';
import { connectMongo, type Mongo } from '../db/client';
import { collections, type Collections } from '../db/collections';
import { ensureIndexes } from '../db/indexes';
import { createLogger, type Logger } from '../logger';
import { createKeyRing, type KeyRing } from '../security/keys';
import { connectTemporalClient } from '../temporal/client';

export interface Services {
  config: Config;
  mongo: Mongo;
  c: Collections;
  temporal: Client;
  temporalAddress: string;
  logger: Logger;
  clock: () => Date;
  /** Keys derived from SESSION_SECRET, one per purpose. */
  keys: KeyRing;
  close(): Promise<void>;
}

export interface Endpoints {
  mongodbUri: string;
  temporalAddress: string;
}

/** Endpoints from config; entry points that cannot start embedded servers require both. */
export function endpointsFromConfig(config: Config): Endpoints {
  if (!config.mongodbUri || !config.temporalAddress) {
    throw new ConfigError(
      'Invalid configuration: MONGODB_URI and TEMPORAL_ADDRESS must be set (or use `npm run dev`, which starts both servers)',
    );
  }
  return { mongodbUri: config.mongodbUri, temporalAddress: config.temporalAddress };
}

export async function openServices(
  config: Config,
  endpoints: Endpoints,
  logger = createLogger(config.logLevel),
): Promise<Services> {
  const mongo = await connectMongo(endpoints.mongodbUri, config.mongodbDb);
  const c = collections(mongo.db);
  await ensureIndexes(c);
  const temporal = await connectTemporalClient(endpoints.temporalAddress, config.temporalNamespace);
  return {
    config,
    mongo,
    c,
    temporal,
    temporalAddress: endpoints.temporalAddress,
    logger,
    clock: () => new Date(),
    keys: createKeyRing(config.sessionSecret, config.previousSessionSecrets),
    async close() {
      await temporal.connection.close();
      await mongo.client.close();
    },
  };
}
