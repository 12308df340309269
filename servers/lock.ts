// A lock file so that two processes on one machine (say `npm test` and `npm run dev` started
// together) do not build the same binary at the same time. It is an optimisation, not what keeps
// the cache sound: every build writes to its own temporary directory and is renamed into place
// atomically, so even two builds racing past the lock leave one complete binary.
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** Called once if another live process holds the lock, with that process's PID. */
  onWait?: (holderPid: number) => void;
  pollMs?: number;
}

/** Runs `task` while holding the lock file at `lockPath`; waits for the holder if there is one. */
export async function withFileLock<T>(
  lockPath: string,
  task: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  await acquire(lockPath, options);
  try {
    return await task();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function acquire(lockPath: string, { onWait, pollMs = 500 }: FileLockOptions): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const holder = await readHolder(lockPath);
    if (holder === 'just-created') {
      await sleep(50);
      continue;
    }
    if (holder === undefined || !isAlive(holder)) {
      // The holder died mid-build (SIGKILL, power loss): its lock is stale, and its temporary
      // build directory never became the cached binary, so building again is safe.
      await rm(lockPath, { force: true });
      continue;
    }
    if (!announced) {
      onWait?.(holder);
      announced = true;
    }
    await sleep(pollMs);
  }
}

/** The PID in the lock file; 'just-created' while its creator has not written it yet. */
async function readHolder(lockPath: string): Promise<number | 'just-created' | undefined> {
  try {
    const pid = Number.parseInt(await readFile(lockPath, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0) return pid;
    const { mtimeMs } = await stat(lockPath);
    return Date.now() - mtimeMs < 5_000 ? 'just-created' : undefined;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** True if a process with this PID exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Claims `path` for this process without waiting, e.g. a data directory that two servers must not
 * share. Throws if a live process holds it; a claim left by a dead process is taken over.
 * Returns the release function.
 */
export async function claimExclusive(
  path: string,
  describeConflict: (holderPid: number) => string,
): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const holder = await readHolder(path);
    if (holder === 'just-created') {
      await sleep(50);
      continue;
    }
    if (holder !== undefined && isAlive(holder)) throw new Error(describeConflict(holder));
    await rm(path, { force: true });
  }
}
