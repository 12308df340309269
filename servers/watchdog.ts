// Runs one server and makes sure it never outlives the process that asked for it.
//
//   node --import tsx servers/watchdog.ts '<WatchdogSpec as JSON>'
//
// The watchdog starts detached from the terminal (Ctrl-C does not reach it) and starts the server
// in a process group of its own, then polls its parent. When the parent is gone, however it went
// (test run finished, Ctrl-C, SIGKILL, crash), it stops the server's whole process group: SIGTERM,
// then SIGKILL after a grace period. It prints `{"pid":N}` once the server is spawned, appends its
// own notes to the server's log, and exits when the server has exited, with the server's status.
//
// It imports nothing from the project so that it starts fast and cannot fail on project code.
import { spawn } from 'node:child_process';
import { openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';

export interface WatchdogSpec {
  parentPid: number;
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  graceMs: number;
}

const POLL_MS = 200;

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '') as WatchdogSpec;
  const log = openSync(spec.logFile, 'a');
  const note = (message: string) => writeSync(log, `[watchdog ${new Date().toISOString()}] ${message}\n`);
  // The parent reads one line and may close the pipe or die; that must not crash the watchdog.
  process.stdout.on('error', () => undefined);

  const server = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', log, log],
  });
  let stopping = false;

  const signalGroup = (signal: NodeJS.Signals) => {
    if (server.pid === undefined) return;
    try {
      process.kill(-server.pid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  };
  const terminate = (reason: string) => {
    if (stopping) return;
    stopping = true;
    note(`${reason}; stopping ${spec.command} (pid ${server.pid})`);
    signalGroup('SIGTERM');
    setTimeout(() => signalGroup('SIGKILL'), spec.graceMs).unref();
  };
  const parentIsAlive = () => {
    // Once the parent dies this process is re-parented, so ppid changes even if the PID is reused.
    if (process.ppid !== spec.parentPid) return false;
    try {
      process.kill(spec.parentPid, 0);
      return true;
    } catch {
      return false;
    }
  };

  server.on('error', (error) => {
    note(`could not start ${spec.command}: ${error.message}`);
    process.stdout.write(`${JSON.stringify({ error: error.message })}\n`);
    process.exit(127);
  });
  server.on('spawn', () => process.stdout.write(`${JSON.stringify({ pid: server.pid })}\n`));
  const poll = setInterval(() => {
    if (!parentIsAlive()) terminate(`parent process ${spec.parentPid} is gone`);
  }, POLL_MS);
  // Someone signalling the watchdog itself wants the server stopped, not orphaned.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => terminate(`received ${signal}`));

  server.on('exit', (code, signal) => {
    clearInterval(poll);
    // Children the server left behind in its group go with it.
    signalGroup('SIGKILL');
    note(`${spec.command} exited (${signal ?? `code ${code}`})`);
    process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
  });
}

main();
