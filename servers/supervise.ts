// Spawns a server through the watchdog (see watchdog.ts) and stops it again. Three layers keep
// servers from outliving this process: stop() for the orderly path, process exit and signal
// handlers for the usual abrupt paths, and the watchdog for the rest (SIGKILL, crashes).
import { type ChildProcess, spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import type { WatchdogSpec } from './watchdog';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const WATCHDOG = fileURLToPath(new URL('./watchdog.ts', import.meta.url));
const DEFAULT_GRACE_MS = 5_000;

export interface SuperviseOptions {
  command: string;
  args: string[];
  /** Working directory of the server (its data directory: stray files land there). */
  cwd: string;
  /** Receives the server's stdout and stderr, and the watchdog's notes. */
  logFile: string;
  graceMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisedProcess {
  /** PID of the server itself (also its process group ID). */
  pid: number;
  watchdogPid: number;
  logFile: string;
  /** Resolves once the server (and so its watchdog) has exited. */
  exited: Promise<ExitStatus>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after the grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

const running = new Set<SupervisedProcess>();

export async function supervise(options: SuperviseOptions): Promise<SupervisedProcess> {
  installExitHandlers();
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const spec: WatchdogSpec = {
    parentPid: process.pid,
    command: options.command,
    args: options.args,
    cwd: options.cwd,
    logFile: options.logFile,
    graceMs,
  };
  const log = await open(options.logFile, 'a');
  let watchdog: ChildProcess;
  try {
    // cwd is the project root so that `--import tsx` resolves the project's own tsx.
    watchdog = spawn(process.execPath, ['--import', 'tsx', WATCHDOG, JSON.stringify(spec)], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', log.fd],
    });
  } finally {
    await log.close();
  }
  watchdog.unref();
  const exited = new Promise<ExitStatus>((resolve) => {
    watchdog.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  void exited.then(() => (done = true));

  let pid: number;
  try {
    pid = await readServerPid(watchdog, exited, options);
  } catch (error) {
    // The watchdog stops its server, if it has one, when signalled.
    watchdog.kill('SIGTERM');
    throw error;
  }
  const supervised: SupervisedProcess = {
    pid,
    watchdogPid: watchdog.pid ?? -1,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    stop: async () => {
      try {
        if (done) return;
        signalGroup(pid, 'SIGTERM');
        if (await settlesWithin(exited, graceMs)) return;
        signalGroup(pid, 'SIGKILL');
        await settlesWithin(exited, graceMs);
      } finally {
        running.delete(supervised);
      }
    },
  };
  running.add(supervised);
  void exited.then(() => running.delete(supervised));
  return supervised;
}

/** The last lines of a log file, for error messages about a server that would not start. */
export async function logTail(logFile: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function readServerPid(
  watchdog: ChildProcess,
  exited: Promise<ExitStatus>,
  options: SuperviseOptions,
): Promise<number> {
  const stdout = watchdog.stdout;
  if (!stdout) throw new Error('watchdog has no stdout');
  const lines = createInterface({ input: stdout });
  const timeout = new AbortController();
  try {
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      exited.then(() => undefined),
      sleep(30_000, 'timeout' as const, { signal: timeout.signal }),
    ]);
    if (first === undefined || first === 'timeout') {
      throw new Error(
        `the watchdog for ${options.command} ${first === 'timeout' ? 'did not report' : 'exited before reporting'} a PID; ` +
          `log ${options.logFile}:\n${await logTail(options.logFile)}`,
      );
    }
    const message = JSON.parse(first) as { pid?: number; error?: string };
    if (typeof message.pid !== 'number')
      throw new Error(`cannot start ${options.command}: ${message.error ?? first}`);
    return message.pid;
  } finally {
    timeout.abort();
    lines.close();
    // Only one line is ever written; leaving the pipe open would keep this process alive.
    stdout.destroy();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), sleep(ms, false, { signal: timeout.signal })]);
  } finally {
    timeout.abort();
  }
}

let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Only synchronous work is possible on 'exit'; the watchdog escalates to SIGKILL if needed.
  process.on('exit', terminateAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      terminateAll();
      // Listening for a signal replaces Node's default of exiting. If nobody else handles it,
      // restore the default and re-raise, so Ctrl-C still ends the process as the user expects.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

function terminateAll(): void {
  for (const server of running) signalGroup(server.pid, 'SIGTERM');
}
