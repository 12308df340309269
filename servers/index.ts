// Local servers for tests and `npm run dev`: a Temporal dev server and a MongoDB-protocol server,
// each obtained (built once and cached if need be, see resolve.ts) and started on free ports.
//
//   const servers = await startServers({ dataDir: '.data', headless: false });
//   // servers.temporalAddress  '127.0.0.1:PORT'            → Connection / NativeConnection address
//   // servers.temporalUiUrl    'http://127.0.0.1:PORT' | undefined when headless
//   // servers.mongoUri         'mongodb://127.0.0.1:PORT/?directConnection=true' (no database name)
//   // servers.mongoKind        'mongod' | 'ferretdb'
//   await servers.stop();
//
// It throws ServerBinaryError (saying what to install or set) when a binary cannot be obtained,
// and ServerStartError (with the tail of the server's log) when a server does not come up.
// Data under dataDir survives restarts: temporal/temporal.db, and mongod/ or ferretdb/, each with
// the server's log file. One process at a time may use a dataDir. The servers never outlive this
// process, even if it is killed (watchdog.ts).
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { claimExclusive } from './lock';
import { startMongo } from './mongo';
import { type MongoKind, resolveMongoBinary, resolveTemporalBinary } from './resolve';
import { startTemporal } from './temporal';

export { startMongo, type RunningMongo, type StartMongoOptions } from './mongo';
export { ServerStartError } from './readiness';
export { resolveMongoBinary, resolveTemporalBinary, ServerBinaryError, type MongoKind } from './resolve';
export { startTemporal, type RunningTemporal, type StartTemporalOptions } from './temporal';
export { FERRETDB, TEMPORAL_CLI } from './versions';

export interface StartServersOptions {
  /** Directory for both servers' data and logs; created if missing. */
  dataDir: string;
  /** Without the Temporal Web UI (tests). */
  headless: boolean;
}

export interface RunningServers {
  temporalAddress: string;
  temporalUiUrl: string | undefined;
  mongoUri: string;
  mongoKind: MongoKind;
  /** Server PIDs, for diagnostics and for the no-orphan test. */
  pids: { temporal: number; mongo: number };
  /** Stops both servers; resolves when both processes are gone. */
  stop(): Promise<void>;
}

export async function startServers({ dataDir, headless }: StartServersOptions): Promise<RunningServers> {
  const root = resolve(dataDir);
  // One after the other: a first run may build both binaries, and interleaved progress is confusing.
  const temporalBinary = await resolveTemporalBinary();
  const mongoBinary = await resolveMongoBinary();

  await mkdir(root, { recursive: true });
  // Two servers writing one SQLite file or dbpath would corrupt it (say, `npm run dev` twice).
  const release = await claimExclusive(
    join(root, 'servers.pid'),
    (pid) =>
      `${root} is in use by the servers of process ${pid}: stop that process, or use another data directory.`,
  );
  const [temporal, mongo] = await Promise.allSettled([
    startTemporal({
      dbFile: join(root, 'temporal', 'temporal.db'),
      headless,
      binaryPath: temporalBinary.path,
    }),
    startMongo({ dataDir: join(root, mongoBinary.kind), binary: mongoBinary }),
  ]);
  if (temporal.status === 'rejected' || mongo.status === 'rejected') {
    const started = [temporal, mongo].flatMap((result) =>
      result.status === 'fulfilled' ? [result.value] : [],
    );
    await Promise.all(started.map((server) => server.stop()));
    await release();
    const failure = temporal.status === 'rejected' ? temporal : (mongo as PromiseRejectedResult);
    throw failure.reason;
  }
  return {
    temporalAddress: temporal.value.address,
    temporalUiUrl: temporal.value.uiUrl,
    mongoUri: mongo.value.uri,
    mongoKind: mongo.value.kind,
    pids: { temporal: temporal.value.pid, mongo: mongo.value.pid },
    stop: async () => {
      await Promise.all([temporal.value.stop(), mongo.value.stop()]);
      await release();
    },
  };
}
