// Where built or downloaded server binaries live. Outside the repository, so that a fresh clone,
// `git clean` or a second checkout reuses them instead of spending minutes rebuilding.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

import type { GoBinarySpec } from './versions';

/** `SSO_CACHE_DIR` if given, else ~/.cache/sso-provisioning-backend. */
export function cacheRoot(configured: string | undefined): string {
  return resolve(configured ?? join(homedir(), '.cache', 'sso-provisioning-backend'));
}

export function binDir(cacheDir: string): string {
  return join(cacheDir, 'bin');
}

/**
 * The version is part of the name, so bumping versions.ts never reuses an older binary; so is a
 * digest of the source patches, so changing a patch never reuses a binary built without it.
 */
export function cachedBinaryPath(
  cacheDir: string,
  spec: Pick<GoBinarySpec, 'name' | 'version' | 'build' | 'sourcePatches'>,
): string {
  const patches = spec.sourcePatches
    ? `-${createHash('sha256').update(JSON.stringify(spec.sourcePatches)).digest('hex').slice(0, 8)}`
    : '';
  return join(
    binDir(cacheDir),
    `${spec.name}-${spec.version}${spec.build ? `-${spec.build}` : ''}${patches}`,
  );
}

export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` in a PATH-style list of directories. */
export async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
