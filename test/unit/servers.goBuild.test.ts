// Exercises the Go build path against a fake `go` script: the lock, the temporary directory and
// atomic rename, the checksum-database retry and the FerretDB source copy, in milliseconds.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { binDir, cachedBinaryPath, isExecutableFile } from '../../servers/cache';
import {
  buildWithGo,
  GoBuildError,
  GoUnavailableError,
  isChecksumDatabaseUnreachable,
} from '../../servers/goBuild';
import { FERRETDB, TEMPORAL_CLI } from '../../servers/versions';

let root: string;
let cacheDir: string;
let goCommand: string;
const lines: string[] = [];
const log = (line: string) => lines.push(line);

const SUMDB_UNREACHABLE =
  'go: github.com/temporalio/cli/cmd/temporal@v1.5.1: verifying module: github.com/temporalio/cli@v1.5.1: ' +
  'Get "https://sum.golang.org/lookup/github.com/temporalio/cli@v1.5.1": dial tcp: lookup sum.golang.org: no such host';

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'servers-gobuild-'));
  cacheDir = join(root, 'cache');
  goCommand = await writeFakeGo(root);
  lines.length = 0;
});

afterEach(async () => {
  // The fake module cache is read-only, which would stop rm for anyone but root.
  for (const sub of ['build', 'build/version', 'cmd', 'cmd/ferretdb', ...patchedDirs()]) {
    await chmod(join(root, 'modcache', 'ferretdb', sub), 0o755).catch(() => undefined);
  }
  await rm(root, { recursive: true, force: true });
});

async function goCalls(): Promise<string[]> {
  try {
    return (await readFile(join(root, 'go-calls.log'), 'utf8')).trim().split('\n');
  } catch {
    return [];
  }
}

describe('building a server binary with Go', () => {
  it('installs into the cache, then reuses it without running go again', async () => {
    const first = await buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log });
    const second = await buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log });

    expect(first).toBe(cachedBinaryPath(cacheDir, TEMPORAL_CLI));
    expect(second).toBe(first);
    expect(await isExecutableFile(first)).toBe(true);
    expect((await goCalls()).filter((call) => call.startsWith('install'))).toHaveLength(1);
    expect(lines[0]).toBe(
      'building Temporal CLI v1.5.1 with go install (first run only, takes a few minutes)',
    );
  });

  it('passes the pinned package, version and version stamp to go install', async () => {
    await buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log });

    const [install] = (await goCalls()).filter((call) => call.startsWith('install'));
    expect(install).toContain('github.com/temporalio/cli/cmd/temporal@v1.5.1');
    expect(install).toContain('-ldflags=-X github.com/temporalio/cli/temporalcli.Version=1.5.1');
  });

  it('runs go once when two builds of the same binary overlap', async () => {
    const [a, b] = await Promise.all([
      buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log }),
      buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log }),
    ]);

    expect(a).toBe(b);
    expect((await goCalls()).filter((call) => call.startsWith('install'))).toHaveLength(1);
    expect(lines.some((line) => line.startsWith(`waiting for process ${process.pid}`))).toBe(true);
  });

  it('takes over a lock left behind by a process that died mid-build', async () => {
    const deadPid = spawnSync('true').pid;
    await mkdir(binDir(cacheDir), { recursive: true });
    await writeFile(join(binDir(cacheDir), '.temporal-v1.5.1.lock'), `${deadPid}\n`);

    await expect(buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log })).resolves.toBe(
      cachedBinaryPath(cacheDir, TEMPORAL_CLI),
    );
  });

  it('exempts only this module from the checksum database when it is unreachable, and says so', async () => {
    await writeFile(join(root, 'sumdb-down'), '');

    await buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log });

    const installs = (await goCalls()).filter((call) => call.startsWith('install'));
    expect(installs).toHaveLength(2);
    expect(installs[1]).toMatch(/GONOSUMDB=(.*,)?github\.com\/temporalio\/cli$/);
    expect(
      lines.some(
        (line) =>
          line.includes('checksum database is unreachable') &&
          line.includes('GONOSUMDB=github.com/temporalio/cli'),
      ),
    ).toBe(true);
  });

  it('leaves neither a binary nor a temporary directory behind when the build fails', async () => {
    await writeFile(join(root, 'compile-error'), '');

    await expect(buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log })).rejects.toThrow(GoBuildError);
    await expect(buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand, log })).rejects.toThrow(/syntax error/);
    expect(await readdir(binDir(cacheDir))).toEqual([]);
  });

  it('reports a missing Go toolchain as such', async () => {
    const missing = join(root, 'no-such-dir', 'go');

    await expect(buildWithGo(TEMPORAL_CLI, { cacheDir, goCommand: missing, log })).rejects.toThrow(
      GoUnavailableError,
    );
  });

  it('builds FerretDB from a copy of its source with the generated version file, leaving the module cache untouched', async () => {
    const built = await buildWithGo(FERRETDB, { cacheDir, goCommand, log });

    expect(built).toBe(cachedBinaryPath(cacheDir, FERRETDB));
    expect(await isExecutableFile(built)).toBe(true);
    expect(await readdir(join(root, 'modcache', 'ferretdb', 'build', 'version'))).toEqual(['mongodb.txt']);
    const [name] = await readdir(binDir(cacheDir));
    expect(name).toMatch(/^ferretdb-v1\.24\.2-indexed-queries-[0-9a-f]{8}$/);
    // Another patch, another binary: a build without it is never reused.
    const changed = { ...FERRETDB, sourcePatches: [...(FERRETDB.sourcePatches ?? []).slice(1)] };
    expect(cachedBinaryPath(cacheDir, changed)).not.toBe(cachedBinaryPath(cacheDir, FERRETDB));
  });

  it('builds FerretDB from its patched source, leaving the module cache as it was', async () => {
    await buildWithGo(FERRETDB, { cacheDir, goCommand, log });

    const built = await readFile(join(root, 'built-sources.txt'), 'utf8');
    for (const patch of FERRETDB.sourcePatches ?? []) {
      expect(built).toContain(patch.replace);
      // A patch may keep its anchor (one that adds code before it).
      if (!patch.replace.includes(patch.find)) expect(built).not.toContain(patch.find);
      const original = await readFile(join(root, 'modcache', 'ferretdb', patch.file), 'utf8');
      expect(original).toContain(patch.find);
    }
  });

  it('stops, leaving no binary behind, when a source patch no longer applies', async () => {
    const [patch] = FERRETDB.sourcePatches ?? [];
    const changed = { ...FERRETDB, sourcePatches: [{ ...patch!, find: `${patch!.find} // not there` }] };

    await expect(buildWithGo(changed, { cacheDir, goCommand, log })).rejects.toThrow(/no longer applies/);
    expect(await readdir(binDir(cacheDir))).toEqual([]);
  });
});

/** The directories of the files FerretDB's source patches edit. */
function patchedDirs(): string[] {
  const dirs = new Set<string>();
  for (const patch of FERRETDB.sourcePatches ?? []) {
    const parts = patch.file.split('/').slice(0, -1);
    for (let depth = parts.length; depth > 0; depth -= 1) dirs.add(parts.slice(0, depth).join('/'));
  }
  return [...dirs];
}

describe('recognising an unreachable checksum database', () => {
  it('accepts network failures reaching sum.golang.org', () => {
    expect(isChecksumDatabaseUnreachable(SUMDB_UNREACHABLE)).toBe(true);
  });

  it('never bypasses a checksum mismatch', () => {
    const mismatch =
      'verifying github.com/temporalio/cli@v1.5.1: checksum mismatch\n\tdownloaded: h1:x\n\tsum.golang.org: h1:y\n\n' +
      'SECURITY ERROR\nThis download does NOT match the one reported by the checksum server.';
    expect(isChecksumDatabaseUnreachable(mismatch)).toBe(false);
  });

  it('ignores unrelated build failures', () => {
    expect(isChecksumDatabaseUnreachable('main.go:1:1: syntax error: dial tcp in a comment')).toBe(false);
  });
});

/** A `go` that logs each call and fakes install, mod download and build; behaviour is switched by marker files. */
async function writeFakeGo(dir: string): Promise<string> {
  const moduleDir = join(dir, 'modcache', 'ferretdb');
  await mkdir(join(moduleDir, 'cmd', 'ferretdb'), { recursive: true });
  await mkdir(join(moduleDir, 'build', 'version'), { recursive: true });
  await writeFile(join(moduleDir, 'cmd', 'ferretdb', 'main.go'), 'package main\n');
  await writeFile(join(moduleDir, 'build', 'version', 'mongodb.txt'), '7.0.42\n');
  // The files the source patches edit, holding the text each patch looks for (as many times).
  const patchedFiles = new Map<string, string>();
  for (const patch of FERRETDB.sourcePatches ?? []) {
    const text = `${patchedFiles.get(patch.file) ?? 'package x\n'}${`${patch.find}\n`.repeat(patch.count ?? 1)}`;
    patchedFiles.set(patch.file, text);
  }
  for (const [file, text] of patchedFiles) {
    await mkdir(join(moduleDir, file, '..'), { recursive: true });
    await writeFile(join(moduleDir, file), text);
  }
  // Like the real module cache: read-only.
  for (const file of ['cmd/ferretdb/main.go', 'build/version/mongodb.txt', ...patchedFiles.keys()])
    await chmod(join(moduleDir, file), 0o444);
  for (const sub of ['cmd/ferretdb', 'cmd', 'build/version', 'build', ...patchedDirs()])
    await chmod(join(moduleDir, sub), 0o555);
  const sources = [...patchedFiles.keys()].map((file) => `'${file}'`).join(' ');

  const script = `#!/bin/sh
echo "$* GONOSUMDB=\${GONOSUMDB:-}" >> '${dir}/go-calls.log'
case "$1" in
  version) echo 'go version go0.0.0 fake'; exit 0 ;;
  install)
    if [ -e '${dir}/sumdb-down' ] && [ -z "\${GONOSUMDB:-}" ]; then echo '${SUMDB_UNREACHABLE}' >&2; exit 1; fi
    if [ -e '${dir}/compile-error' ]; then echo 'cmd/temporal/main.go:1:1: syntax error' >&2; exit 1; fi
    sleep 0.3
    mkdir -p "$GOBIN"
    printf '#!/bin/sh\\necho fake temporal\\n' > "$GOBIN/temporal"
    chmod +x "$GOBIN/temporal"
    exit 0 ;;
  mod) echo '{"Path":"github.com/FerretDB/FerretDB","Version":"v1.24.2","Dir":"${moduleDir}"}'; exit 0 ;;
  build)
    [ -f build/version/version.txt ] || { echo 'build/version/version.txt is missing' >&2; exit 1; }
    cat ${sources} > '${dir}/built-sources.txt'
    out=''; prev=''
    for arg in "$@"; do [ "$prev" = '-o' ] && out="$arg"; prev="$arg"; done
    printf '#!/bin/sh\\necho fake ferretdb\\n' > "$out"
    chmod +x "$out"
    exit 0 ;;
esac
echo "fake go: unexpected $*" >&2
exit 2
`;
  const path = join(dir, 'fake-go');
  await writeFile(path, script);
  await chmod(path, 0o755);
  return path;
}
