// Obtains the Keycloak distribution and a JDK that runs it, once per machine.
//
// Keycloak comes from Maven Central (`org.keycloak:keycloak-quarkus-dist:<version>:zip`, fetched
// with `mvn dependency:copy`), is unzipped into the project's cache directory and prepared with
// `kc.sh build` (the slow Quarkus augmentation, ~20 s), so that every later start runs
// `kc.sh start --optimized` without network access and without rebuilding. The build happens in a
// staging directory that is renamed into place only when complete, under a lock file, so parallel
// test files and interrupted runs never see a half-prepared distribution.
import { execFile } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { loadServerBinariesConfig } from '../../../config';
import { cacheRoot, findOnPath, isExecutableFile } from '../../../servers/cache';
import { withFileLock } from '../../../servers/lock';

const execFileAsync = promisify(execFile);

/** The one place that pins Keycloak's version; bumping it makes every machine fetch the new one. */
export const KEYCLOAK_VERSION = '26.7.3';
export const KEYCLOAK_ARTIFACT = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`;
/** JDK feature releases Keycloak 26 supports, the preferred (newest, fastest) first. */
export const KEYCLOAK_JAVA_MAJORS = [25, 21, 17] as const;
/**
 * Build-time options baked in by `kc.sh build`. An in-memory H2 database: every test server starts
 * empty, nothing is written under the shared distribution, and parallel servers cannot collide.
 */
export const KEYCLOAK_BUILD_ARGS = ['--db=dev-mem'] as const;

const BUILD_MARKER = '.sso-build.json';
const DOWNLOAD_TIMEOUT_MS = 20 * 60_000;
const BUILD_TIMEOUT_MS = 10 * 60_000;

/** Java or Keycloak could not be obtained; the message says what is missing and how to provide it. */
export class KeycloakUnavailableError extends Error {
  override name = 'KeycloakUnavailableError';
}

export interface JavaRuntime {
  javaHome: string;
  /** As the JDK reports it, e.g. "25.0.3". */
  version: string;
  major: number;
}

/**
 * Overrides for machines where discovery fails. Read here rather than in config.ts because only
 * the test suite runs Keycloak; the application never does.
 */
export interface KeycloakEnvironment {
  /** KEYCLOAK_HOME: an unzipped keycloak-<version> distribution to use instead of the cache. */
  keycloakHome: string | undefined;
  /** KEYCLOAK_JAVA_HOME: the JDK to run Keycloak with. */
  javaHome: string | undefined;
  /** Root of the project's cache (SSO_CACHE_DIR, else ~/.cache/sso-provisioning-backend). */
  cacheDir: string;
}

export function keycloakEnvironment(env: NodeJS.ProcessEnv = process.env): KeycloakEnvironment {
  return {
    keycloakHome: env.KEYCLOAK_HOME || undefined,
    javaHome: env.KEYCLOAK_JAVA_HOME || undefined,
    cacheDir: cacheRoot(loadServerBinariesConfig(env).cacheDir),
  };
}

export function logKeycloakProgress(line: string): void {
  process.stderr.write(`[keycloak] ${line}\n`);
}

/**
 * The JDK to run Keycloak with: `explicit` if given (it must be a supported JDK), else the newest
 * supported JDK among /usr/lib/jvm/*, JAVA_HOME and the `java` on the PATH.
 */
export async function findJava(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<JavaRuntime> {
  if (explicit) {
    const runtime = await inspectJavaHome(explicit);
    if (runtime && isSupported(runtime)) return runtime;
    throw new KeycloakUnavailableError(
      `The JDK given for Keycloak (${explicit}) ${runtime ? `is Java ${runtime.version}` : 'has no runnable bin/java'}; ` +
        `Keycloak ${KEYCLOAK_VERSION} needs Java ${KEYCLOAK_JAVA_MAJORS.join(', ')}. Point KEYCLOAK_JAVA_HOME (or the javaHome option) at such a JDK.`,
    );
  }
  const candidates = await javaHomeCandidates(env);
  const runtimes: JavaRuntime[] = [];
  for (const candidate of candidates) {
    const runtime = await inspectJavaHome(candidate);
    if (runtime) runtimes.push(runtime);
  }
  for (const major of KEYCLOAK_JAVA_MAJORS) {
    const match = runtimes.find((runtime) => runtime.major === major);
    if (match) return match;
  }
  const found = runtimes.map((runtime) => `${runtime.javaHome} (Java ${runtime.version})`);
  throw new KeycloakUnavailableError(
    [
      `No JDK that runs Keycloak ${KEYCLOAK_VERSION} (Java ${KEYCLOAK_JAVA_MAJORS.join(', ')}) was found.`,
      `Looked at /usr/lib/jvm/*, JAVA_HOME and \`java\` on the PATH; found: ${found.length > 0 ? found.join(', ') : 'none'}.`,
      'Install one (e.g. `apt-get install openjdk-17-jdk-headless`) or set KEYCLOAK_JAVA_HOME=/path/to/jdk.',
    ].join('\n'),
  );
}

export interface PreparedKeycloak {
  /** The distribution directory (contains bin/kc.sh), built for `kc.sh start --optimized`. */
  home: string;
  /** Whether this call downloaded or built anything. */
  prepared: boolean;
}

/** Returns a distribution ready for `kc.sh start --optimized`, obtaining and building it if needed. */
export async function ensureKeycloakDistribution(options: {
  java: JavaRuntime;
  keycloakHome: string | undefined;
  cacheDir: string;
  log?: (line: string) => void;
}): Promise<PreparedKeycloak> {
  const log = options.log ?? logKeycloakProgress;
  const home = options.keycloakHome ?? join(options.cacheDir, `keycloak-${KEYCLOAK_VERSION}`);
  if (await isBuilt(home)) return { home, prepared: false };

  await mkdir(options.cacheDir, { recursive: true });
  return withFileLock(
    join(options.cacheDir, `.keycloak-${KEYCLOAK_VERSION}.lock`),
    async () => {
      // Another process may have finished while this one waited for the lock.
      if (await isBuilt(home)) return { home, prepared: false };
      if (options.keycloakHome) {
        if (!(await isExecutableFile(join(home, 'bin', 'kc.sh')))) {
          throw new KeycloakUnavailableError(
            `The Keycloak home ${home} (KEYCLOAK_HOME or the keycloakHome option) has no executable bin/kc.sh. Point it at an ` +
              `unzipped keycloak-${KEYCLOAK_VERSION} distribution, or unset it to let the test suite fetch one from Maven Central.`,
          );
        }
        await buildDistribution(home, options.java, log);
        return { home, prepared: true };
      }
      await downloadAndBuild(home, options, log);
      return { home, prepared: true };
    },
    { onWait: (pid) => log(`waiting for process ${pid}, which is preparing Keycloak ${KEYCLOAK_VERSION}`) },
  );
}

async function downloadAndBuild(
  home: string,
  options: { java: JavaRuntime; cacheDir: string },
  log: (line: string) => void,
): Promise<void> {
  const stagingPrefix = `.keycloak-${KEYCLOAK_VERSION}-staging-`;
  // Under the lock, any other staging directory is what a killed run left behind (~350 MB).
  for (const name of await readdir(options.cacheDir)) {
    if (name.startsWith(stagingPrefix))
      await rm(join(options.cacheDir, name), { recursive: true, force: true });
  }
  const staging = await mkdtemp(join(options.cacheDir, stagingPrefix));
  try {
    const started = Date.now();
    log(`fetching ${KEYCLOAK_ARTIFACT} from Maven Central (first run only)`);
    const zip = await fetchDistributionZip(staging);
    await unzip(zip, staging, options.java);
    await rm(zip, { force: true });
    const unpacked = join(staging, `keycloak-${KEYCLOAK_VERSION}`);
    if (!(await isExecutableFile(join(unpacked, 'bin', 'kc.sh')))) {
      throw new KeycloakUnavailableError(
        `${KEYCLOAK_ARTIFACT} did not unpack to keycloak-${KEYCLOAK_VERSION}/bin/kc.sh`,
      );
    }
    await buildDistribution(unpacked, options.java, log);
    await rm(home, { recursive: true, force: true });
    await rename(unpacked, home);
    log(`Keycloak ${KEYCLOAK_VERSION} ready in ${Math.round((Date.now() - started) / 1000)} s: ${home}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function fetchDistributionZip(outputDirectory: string): Promise<string> {
  const mvn = await findOnPath('mvn', process.env.PATH ?? '');
  if (!mvn) {
    throw new KeycloakUnavailableError(
      [
        `Keycloak ${KEYCLOAK_VERSION} is not in the cache and Maven (\`mvn\`) is not on the PATH to fetch it.`,
        'Fix one of:',
        '  - install Maven (e.g. `apt-get install maven`) and run again: the first run fetches',
        `    ${KEYCLOAK_ARTIFACT} from Maven Central into the cache`,
        `  - unzip keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip somewhere and set KEYCLOAK_HOME to its keycloak-${KEYCLOAK_VERSION} directory`,
      ].join('\n'),
    );
  }
  const args = [
    '-B',
    '-q',
    '-Dstyle.color=never',
    'dependency:copy',
    `-Dartifact=${KEYCLOAK_ARTIFACT}`,
    `-DoutputDirectory=${outputDirectory}`,
  ];
  try {
    await execFileAsync(mvn, args, { timeout: DOWNLOAD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    throw new KeycloakUnavailableError(
      [
        `\`mvn ${args.join(' ')}\` failed, so Keycloak ${KEYCLOAK_VERSION} could not be fetched from Maven Central.`,
        commandOutput(error),
        `Alternatively unzip keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip somewhere and set KEYCLOAK_HOME to its keycloak-${KEYCLOAK_VERSION} directory.`,
      ].join('\n'),
    );
  }
  const zip = join(outputDirectory, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip`);
  if (!(await isFile(zip)))
    throw new KeycloakUnavailableError(`mvn dependency:copy reported success but ${zip} is missing`);
  return zip;
}

async function unzip(zip: string, destination: string, java: JavaRuntime): Promise<void> {
  try {
    await execFileAsync('unzip', ['-q', zip, '-d', destination], { maxBuffer: 16 * 1024 * 1024 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // No unzip on this machine: the JDK's jar tool reads zips too, but drops the executable bits.
  await execFileAsync(join(java.javaHome, 'bin', 'jar'), ['xf', zip], {
    cwd: destination,
    maxBuffer: 16 * 1024 * 1024,
  });
  const bin = join(destination, `keycloak-${KEYCLOAK_VERSION}`, 'bin');
  for (const name of await readdir(bin)) if (name.endsWith('.sh')) await chmod(join(bin, name), 0o755);
}

async function buildDistribution(
  home: string,
  java: JavaRuntime,
  log: (line: string) => void,
): Promise<void> {
  log(
    `running kc.sh build ${KEYCLOAK_BUILD_ARGS.join(' ')} with Java ${java.version} (first run only, ~20 s)`,
  );
  try {
    await execFileAsync(join(home, 'bin', 'kc.sh'), ['build', ...KEYCLOAK_BUILD_ARGS], {
      env: keycloakProcessEnv(java, {}),
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    throw new KeycloakUnavailableError(`\`kc.sh build\` failed in ${home}:\n${commandOutput(error)}`);
  }
  // A rebuild invalidates class-data archives made from the previous build.
  await rm(join(home, CDS_DIR), { recursive: true, force: true });
  await writeFile(join(home, BUILD_MARKER), buildMarker());
}

/** Where class-data-sharing archives for this distribution live (one per JDK; see keycloak.ts). */
export const CDS_DIR = '.sso-cds';

/**
 * The environment for kc.sh: the parent's, minus anything that would reconfigure Keycloak behind
 * the test's back (KC_* options, JAVA_OPTS replacing kc.sh's JVM defaults), plus `extra`.
 */
export function keycloakProcessEnv(java: JavaRuntime, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(KC_|KEYCLOAK_|QUARKUS_)/.test(name)) continue;
    if (['JAVA_OPTS', 'JAVA_OPTS_APPEND', 'JAVA_OPTS_KC_HEAP', 'JAVA_ADD_OPENS', 'JAVA'].includes(name))
      continue;
    env[name] = value;
  }
  return { ...env, JAVA_HOME: java.javaHome, ...extra };
}

async function isBuilt(home: string): Promise<boolean> {
  try {
    return (await readFile(join(home, BUILD_MARKER), 'utf8')) === buildMarker();
  } catch {
    return false;
  }
}

function buildMarker(): string {
  return `${JSON.stringify({ version: KEYCLOAK_VERSION, buildArgs: KEYCLOAK_BUILD_ARGS })}\n`;
}

async function javaHomeCandidates(env: NodeJS.ProcessEnv): Promise<string[]> {
  const candidates: string[] = [];
  try {
    for (const name of (await readdir('/usr/lib/jvm')).sort()) candidates.push(join('/usr/lib/jvm', name));
  } catch {
    // Not a Debian-style layout; JAVA_HOME or the PATH may still have one.
  }
  if (env.JAVA_HOME) candidates.push(env.JAVA_HOME);
  const onPath = await findOnPath('java', env.PATH ?? '');
  if (onPath) candidates.push(dirname(dirname(await realpath(onPath))));
  const unique = new Set<string>();
  for (const candidate of candidates) {
    try {
      unique.add(await realpath(candidate));
    } catch {
      // A dangling symlink or a stale JAVA_HOME.
    }
  }
  return [...unique];
}

/** The JDK at `javaHome`, or undefined if it has no runnable bin/java. */
export async function inspectJavaHome(javaHome: string): Promise<JavaRuntime | undefined> {
  const java = join(javaHome, 'bin', 'java');
  if (!(await isExecutableFile(java))) return undefined;
  let version: string | undefined;
  try {
    // Every JDK since 9 ships a `release` file; reading it is much faster than starting a JVM.
    version = /^JAVA_VERSION="([^"]+)"/m.exec(await readFile(join(javaHome, 'release'), 'utf8'))?.[1];
  } catch {
    // Fall back to asking the JVM.
  }
  if (!version) {
    try {
      const { stderr } = await execFileAsync(java, ['-version'], { timeout: 30_000 });
      version = /version "([^"]+)"/.exec(stderr)?.[1];
    } catch {
      return undefined;
    }
  }
  if (!version) return undefined;
  const parts = version.split(/[.+-]/).map((part) => Number.parseInt(part, 10));
  // Java 8 and older report "1.8.0_…".
  const major = parts[0] === 1 ? (parts[1] ?? 0) : (parts[0] ?? 0);
  return { javaHome, version, major };
}

function isSupported(runtime: JavaRuntime): boolean {
  return (KEYCLOAK_JAVA_MAJORS as readonly number[]).includes(runtime.major);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function commandOutput(error: unknown): string {
  const failure = error as { message?: string; stdout?: string; stderr?: string };
  const output = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}`.trim();
  const tail = output.split('\n').slice(-40).join('\n');
  return tail || (failure.message ?? String(error));
}
