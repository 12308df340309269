// A MongoDB-protocol server: a real mongod when one is installed, else FerretDB on SQLite.
// FerretDB lacks multi-document transactions and some index options; the data layer is designed
// around single-document atomic writes, so both behave the same for this project.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { MongoClient } from 'mongodb';

import { startUntilReady } from './readiness';
import { type MongoKind, type ResolvedMongoBinary, resolveMongoBinary } from './resolve';

export interface StartMongoOptions {
  /** Data directory (database files, FerretDB state, and the log), kept across restarts. */
  dataDir: string;
  /** Defaults to resolveMongoBinary(). */
  binary?: Pick<ResolvedMongoBinary, 'kind' | 'path'>;
  readyTimeoutMs?: number;
  /** Listen on this port instead of a free one (restarting a server its clients still address). */
  port?: number;
}

export interface RunningMongo {
  /** mongodb:// URI without a database name: pick the database with client.db(name). */
  uri: string;
  kind: MongoKind;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export async function startMongo(options: StartMongoOptions): Promise<RunningMongo> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const binary = options.binary ?? (await resolveMongoBinary());
  const logFile = join(dataDir, `${binary.kind}.log`);
  const uriFor = (port: number | undefined) => `mongodb://127.0.0.1:${port}/?directConnection=true`;

  const { server, ports } = await startUntilReady({
    name: binary.kind === 'mongod' ? 'MongoDB server (mongod)' : 'FerretDB server',
    portCount: 1,
    ...(options.port ? { ports: [options.port] } : {}),
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    spawnOptions: ([port]) => ({
      command: binary.path,
      args: binary.kind === 'mongod' ? mongodArgs(dataDir, port) : ferretdbArgs(dataDir, port),
      cwd: dataDir,
      logFile,
    }),
    isReady: ([port]) => pings(uriFor(port)),
  });
  return { uri: uriFor(ports[0]), kind: binary.kind, pid: server.pid, logFile, stop: () => server.stop() };
}

function mongodArgs(dataDir: string, port: number | undefined): string[] {
  return ['--bind_ip', '127.0.0.1', '--port', String(port), '--dbpath', dataDir];
}

function ferretdbArgs(dataDir: string, port: number | undefined): string[] {
  return [
    '--handler=sqlite',
    // A directory URI: FerretDB requires the trailing slash.
    `--sqlite-url=${pathToFileURL(dataDir).href}/`,
    `--listen-addr=127.0.0.1:${port}`,
    // Defaults to the working directory.
    `--state-dir=${dataDir}`,
    // Defaults to 127.0.0.1:8088, which collides as soon as two instances run.
    '--debug-addr=-',
    // Otherwise it reports to the vendor's beacon.
    '--telemetry=disable',
    '--log-level=warn',
  ];
}

async function pings(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } finally {
    await client.close();
  }
}
