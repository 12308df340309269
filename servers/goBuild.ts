// Builds a pinned server binary with the Go toolchain, once per machine. The Go module proxy is
// reachable from machines that cannot download vendors' release binaries, so this is the one
// route that works everywhere Go is installed.
import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { binDir, cachedBinaryPath, isExecutableFile } from './cache';
import { withFileLock } from './lock';
import type { GoBinarySpec, SourcePatch } from './versions';

const execFileAsync = promisify(execFile);

export interface GoBuildOptions {
  cacheDir: string;
  /** The `go` executable; a name is looked up on the PATH. */
  goCommand?: string;
  log: (line: string) => void;
}

/** `go` is not installed (or not on the PATH). */
export class GoUnavailableError extends Error {
  override name = 'GoUnavailableError';
}

export class GoBuildError extends Error {
  override name = 'GoBuildError';
}

/**
 * Returns the cached binary for `spec`, building it first if no process has yet. The build happens
 * in a temporary directory next to the cache and is renamed into place only once it runs, so an
 * interrupted build never leaves a half-written binary behind.
 */
export async function buildWithGo(spec: GoBinarySpec, options: GoBuildOptions): Promise<string> {
  const target = cachedBinaryPath(options.cacheDir, spec);
  const dir = binDir(options.cacheDir);
  await mkdir(dir, { recursive: true });
  const go = new GoRunner(options.goCommand ?? 'go', spec, options.log);
  await go.checkInstalled();
  return withFileLock(
    join(dir, `.${spec.name}-${spec.version}.lock`),
    async () => {
      // Another process may have finished the same build while this one waited for the lock.
      if (await isExecutableFile(target)) return target;
      const fromSource = spec.generatedFiles !== undefined || spec.sourcePatches !== undefined;
      const how = fromSource ? 'go build' : 'go install';
      options.log(`building ${spec.label} ${spec.version} with ${how} (first run only, takes a few minutes)`);
      const started = Date.now();
      const progress = setInterval(() => {
        options.log(`still building ${spec.label} ${spec.version} (${minutesSince(started)} min so far)`);
      }, 60_000);
      await removeAbandonedBuilds(dir, spec);
      const work = await mkdtemp(join(dir, `.build-${spec.name}-`));
      try {
        const built = fromSource
          ? await buildFromSourceCopy(go, spec, work)
          : await goInstall(go, spec, work);
        await checkRuns(built, spec);
        await chmod(built, 0o755);
        await rename(built, target);
        options.log(
          `built ${spec.label} ${spec.version} in ${Math.round((Date.now() - started) / 1000)} s: ${target}`,
        );
        return target;
      } finally {
        clearInterval(progress);
        await removeTree(work);
      }
    },
    {
      onWait: (pid) =>
        options.log(`waiting for process ${pid}, which is building ${spec.label} ${spec.version}`),
    },
  );
}

async function goInstall(go: GoRunner, spec: GoBinarySpec, work: string): Promise<string> {
  const gobin = join(work, 'bin');
  const flags = spec.ldflags ? [`-ldflags=${spec.ldflags}`] : [];
  await go.run(['install', ...flags, `${spec.pkg}@${spec.version}`], { cwd: work, env: { GOBIN: gobin } });
  return join(gobin, spec.name);
}

/** For modules whose published source lacks files their release tooling generates, or needs a fix. */
async function buildFromSourceCopy(go: GoRunner, spec: GoBinarySpec, work: string): Promise<string> {
  const download = await go.run(['mod', 'download', '-json', `${spec.module}@${spec.version}`], {
    cwd: work,
  });
  const moduleDir = parseDownloadDir(download);
  const src = join(work, 'src');
  await cp(moduleDir, src, { recursive: true });
  // The module cache is read-only, and cp keeps those modes.
  await makeTreeWritable(src);
  for (const [file, content] of Object.entries(spec.generatedFiles ?? {})) {
    await mkdir(dirname(join(src, file)), { recursive: true });
    await writeFile(join(src, file), content);
  }
  for (const patch of spec.sourcePatches ?? []) await applyPatch(src, patch, spec);
  const output = join(work, spec.name);
  const relativePkg = `./${spec.pkg.slice(spec.module.length + 1)}`;
  const flags = spec.ldflags ? [`-ldflags=${spec.ldflags}`] : [];
  // -buildvcs=false: the copy may sit inside someone's git checkout, whose commit is not FerretDB's.
  await go.run(['build', '-buildvcs=false', ...flags, '-o', output, relativePkg], {
    cwd: src,
    env: { GOWORK: 'off' },
  });
  return output;
}

async function applyPatch(src: string, patch: SourcePatch, spec: GoBinarySpec): Promise<void> {
  const path = join(src, patch.file);
  const text = await readFile(path, 'utf8');
  const parts = text.split(patch.find);
  const expected = patch.count ?? 1;
  if (parts.length - 1 !== expected) {
    throw new GoBuildError(
      `a source patch of ${spec.label} ${spec.version} no longer applies: ${patch.file} has ` +
        `${parts.length - 1} occurrence(s) of ${JSON.stringify(patch.find)}, expected ${expected}`,
    );
  }
  await writeFile(path, parts.join(patch.replace));
}

function parseDownloadDir(output: string): string {
  const info = JSON.parse(output) as { Dir?: unknown; Error?: unknown };
  if (typeof info.Dir !== 'string')
    throw new GoBuildError(`go mod download did not report a directory: ${output}`);
  return info.Dir;
}

async function checkRuns(binary: string, spec: GoBinarySpec): Promise<void> {
  try {
    await execFileAsync(binary, ['--version'], { timeout: 60_000 });
  } catch (error) {
    throw new GoBuildError(`the freshly built ${spec.label} does not run: ${(error as Error).message}`);
  }
}

/** Runs `go`, retrying once without the checksum database for this module if it is unreachable. */
class GoRunner {
  private exemptFromSumDb = false;

  constructor(
    private readonly command: string,
    private readonly spec: GoBinarySpec,
    private readonly log: (line: string) => void,
  ) {}

  async checkInstalled(): Promise<void> {
    try {
      await execFileAsync(this.command, ['version'], { timeout: 30_000 });
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'is not on the PATH'
          : `does not run (${(error as Error).message})`;
      throw new GoUnavailableError(`the Go toolchain (\`${this.command}\`) ${reason}`);
    }
  }

  async run(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
    const first = await this.spawn(args, options);
    if (first.code === 0) return first.stdout;
    if (!this.exemptFromSumDb && isChecksumDatabaseUnreachable(first.stderr)) {
      this.exemptFromSumDb = true;
      this.log(
        `the Go checksum database is unreachable; retrying with GONOSUMDB=${this.spec.module} ` +
          '(only this module is exempted: the Go proxy still serves it over TLS, and its dependencies are ' +
          'still checked against its go.sum)',
      );
      const second = await this.spawn(args, options);
      if (second.code === 0) return second.stdout;
      throw this.failure(args, second.stderr);
    }
    throw this.failure(args, first.stderr);
  }

  private failure(args: string[], stderr: string): GoBuildError {
    return new GoBuildError(
      `\`go ${args.join(' ')}\` failed for ${this.spec.label} ${this.spec.version}:\n${tail(stderr, 30)}`,
    );
  }

  private spawn(
    args: string[],
    { cwd, env = {} }: { cwd: string; env?: Record<string, string> },
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const sumDbEnv = this.exemptFromSumDb
      ? { GONOSUMDB: joinList(inheritedEnv('GONOSUMDB'), this.spec.module) }
      : {};
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.command, args, {
        cwd,
        // The toolchain needs the caller's whole environment (HOME, PATH, GOPATH, GOPROXY, proxies);
        // this passes it through rather than reading settings, which stay in config.ts.
        env: { ...process.env, ...env, ...sumDbEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr
        .setEncoding('utf8')
        .on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-200_000)));
      child.on('error', (error) =>
        reject(
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? new GoUnavailableError(`the Go toolchain (\`${this.command}\`) is not on the PATH`)
            : error,
        ),
      );
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }
}

/**
 * True when go failed because sum.golang.org could not be reached, and never when it answered
 * with a mismatch: a mismatch means tampering, and must stay fatal.
 */
export function isChecksumDatabaseUnreachable(stderr: string): boolean {
  if (/SECURITY ERROR|checksum mismatch/i.test(stderr)) return false;
  const mentionsSumDb = /sum\.golang\.org|checksum database|GOSUMDB|verifying (module|go\.mod):/i.test(
    stderr,
  );
  const networkFailure =
    /dial tcp|no such host|i\/o timeout|connection refused|connection reset|network is unreachable|TLS handshake timeout|Client\.Timeout|server misbehaving|proxyconnect/i.test(
      stderr,
    );
  return mentionsSumDb && networkFailure;
}

function inheritedEnv(name: string): string | undefined {
  // Read only to append to the caller's own exemptions instead of replacing them.
  return process.env[name];
}

function joinList(existing: string | undefined, item: string): string {
  return existing ? `${existing},${item}` : item;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function minutesSince(started: number): number {
  return Math.round((Date.now() - started) / 60_000);
}

async function makeTreeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makeTreeWritable(path);
    else if (entry.isFile()) await chmod(path, 0o644);
  }
}

/** Holding the lock, any build directory for this binary was left by a build that was killed. */
async function removeAbandonedBuilds(dir: string, spec: GoBinarySpec): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(`.build-${spec.name}-`)) await removeTree(join(dir, name));
  }
}

async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // A leftover temporary directory is harmless: its name never collides with a cached binary.
  }
}
