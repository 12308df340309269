// The Temporal dev server (`temporal server start-dev`): a full Temporal server with SQLite
// persistence and, unless headless, the Web UI.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { Connection } from '@temporalio/client';

import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';
import { startUntilReady } from './readiness';
import { resolveTemporalBinary } from './resolve';

export interface StartTemporalOptions {
  /** SQLite file with the server's state; kept across restarts. Its directory gets the log too. */
  dbFile: string;
  /** No Web UI (tests). */
  headless: boolean;
  /** Defaults to resolveTemporalBinary(). */
  binaryPath?: string;
  /** Defaults to temporal.log next to dbFile. */
  logFile?: string;
  readyTimeoutMs?: number;
  /** Frontend port instead of a free one (restarting a server its clients still address; headless only). */
  port?: number;
}

export interface RunningTemporal {
  /** host:port of the frontend gRPC service. */
  address: string;
  /** Web UI, unless headless. */
  uiUrl: string | undefined;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

const NAMESPACE = 'default';

export async function startTemporal(options: StartTemporalOptions): Promise<RunningTemporal> {
  const dbFile = resolve(options.dbFile);
  const dir = dirname(dbFile);
  await mkdir(dir, { recursive: true });
  const logFile = options.logFile ?? join(dir, 'temporal.log');
  const binaryPath = options.binaryPath ?? (await resolveTemporalBinary()).path;

  const { server, ports } = await startUntilReady({
    name: 'Temporal dev server',
    portCount: options.headless ? 1 : 2,
    ...(options.port && options.headless ? { ports: [options.port] } : {}),
    timeoutMs: options.readyTimeoutMs ?? 90_000,
    spawnOptions: ([port, uiPort]) => ({
      command: binaryPath,
      args: [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        ...(options.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
        '--db-filename',
        dbFile,
        // SQLite's default rollback journal makes every commit create, sync and delete a journal
        // file; with write-ahead logging a commit is one append. `synchronous=normal` keeps every
        // commit across a crash of the server (a power loss may take the last ones): right for a
        // development and test server, and it roughly doubled the workflows it runs per second
        // on a 2-core machine (npm run bench -- server-floors).
        '--sqlite-pragma',
        'journal_mode=wal',
        '--sqlite-pragma',
        'synchronous=normal',
        // A cluster spreads workflows over many history shards; the dev server has one, whose
        // queue of new workflow tasks is read at most 20 times a second by default. Every new run
        // then waited 30-35 ms (up to 50) before a worker could take its first task, which made a
        // first SSO sign-in wait on a timer rather than on work (npm run bench -- server-floors:
        // start and result of an empty workflow, 47 ms before, 14 ms after, one at a time).
        '--dynamic-config-value',
        'history.transferProcessorMaxPollRPS=1000',
        // The dev server registers these itself, before it accepts workflows that use them.
        ...SEARCH_ATTRIBUTES.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]),
        '--log-level',
        'warn',
      ],
      cwd: dir,
      logFile,
    }),
    isReady: ([port]) => answers(`127.0.0.1:${port}`),
  });
  const [port, uiPort] = ports;
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${uiPort}`,
    pid: server.pid,
    logFile,
    stop: () => server.stop(),
  };
}

/** The frontend answers, the namespace exists and our search attributes are registered. */
async function answers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: '2s' });
  try {
    return await connection.withDeadline(Date.now() + 5_000, async () => {
      await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: NAMESPACE,
      });
      return SEARCH_ATTRIBUTES.every(({ name }) => name in customAttributes);
    });
  } finally {
    await connection.close();
  }
}
