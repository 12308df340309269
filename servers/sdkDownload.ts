// Last resort for the Temporal CLI on machines with internet but without Go: let the SDK's own
// test tooling download the release binary, then copy it into our cache so that it runs under our
// watchdog like any other binary (a server the SDK starts itself could outlive a killed parent).
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { binDir, cachedBinaryPath, isExecutableFile } from './cache';
import { withFileLock } from './lock';
import { TEMPORAL_CLI } from './versions';

const execFileAsync = promisify(execFile);

export interface SdkDownloadOptions {
  cacheDir: string;
  log: (line: string) => void;
}

export async function downloadTemporalCliWithSdk({ cacheDir, log }: SdkDownloadOptions): Promise<string> {
  const target = cachedBinaryPath(cacheDir, TEMPORAL_CLI);
  const dir = binDir(cacheDir);
  await mkdir(dir, { recursive: true });
  return withFileLock(join(dir, `.${TEMPORAL_CLI.name}-${TEMPORAL_CLI.version}.lock`), async () => {
    if (await isExecutableFile(target)) return target;
    log(`downloading ${TEMPORAL_CLI.label} ${TEMPORAL_CLI.version} through @temporalio/testing`);
    const downloadDir = await mkdtemp(join(dir, '.download-temporal-'));
    try {
      // Imported lazily: it loads the SDK's native core, which nothing else here needs.
      const { TestWorkflowEnvironment } = await import('@temporalio/testing');
      const env = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'cached-download', downloadDir, version: TEMPORAL_CLI.version },
          ip: '127.0.0.1',
          ui: false,
        },
      });
      await env.teardown();
      const downloaded = await largestFile(downloadDir);
      const staged = join(downloadDir, `${TEMPORAL_CLI.name}.staged`);
      await copyFile(downloaded, staged);
      await chmod(staged, 0o755);
      await execFileAsync(staged, ['--version'], { timeout: 60_000 });
      await rename(staged, target);
      log(`downloaded ${TEMPORAL_CLI.label} ${TEMPORAL_CLI.version}: ${target}`);
      return target;
    } finally {
      await rm(downloadDir, { recursive: true, force: true });
    }
  });
}

/** The SDK names its download after itself; the executable is the one large file it leaves. */
async function largestFile(dir: string): Promise<string> {
  let best: { path: string; size: number } | undefined;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await stat(path);
    if (info.isFile() && (!best || info.size > best.size)) best = { path, size: info.size };
  }
  if (!best) throw new Error(`the SDK reported success but left no file in ${dir}`);
  return best.path;
}
