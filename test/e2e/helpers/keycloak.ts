// A real, independently written SAML identity provider for the e2e tests: Keycloak, started by the
// test itself on a free 127.0.0.1 port and stopped again (whole process tree) when it is done.
//
//   const keycloak = await startKeycloak({ realm: 'acme', spEntityId, acsUrl, users: [alice] });
//   keycloak.idpMetadataXml      // the realm's SAML IdP metadata, for a connector's metadataXml
//   await keycloak.addSamlClient({ spEntityId: other, acsUrl: otherAcs });  // a second connector
//   await keycloak.stop();
//
// Start it once per test file (beforeAll), not per test: a start takes ~10 s. The first run on a
// machine also fetches and builds Keycloak (see keycloakInstall.ts), which takes about a minute.
// Keycloak runs under the servers/ watchdog, so its JVM dies with the test process however that
// ends, and its output goes to a log file whose tail is shown if it does not start.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { isAlive } from '../../../servers/lock';
import { startUntilReady } from '../../../servers/readiness';
import { KeycloakAdmin, type KeycloakUser, type SamlClientOptions } from './keycloakAdmin';
import {
  CDS_DIR,
  ensureKeycloakDistribution,
  findJava,
  KEYCLOAK_VERSION,
  type JavaRuntime,
  keycloakEnvironment,
  keycloakProcessEnv,
} from './keycloakInstall';

export { KEYCLOAK_VERSION, KeycloakUnavailableError } from './keycloakInstall';
export type { KeycloakUser, SamlClientOptions, SamlNameIdFormat } from './keycloakAdmin';

export interface KeycloakRealmOptions {
  realm: string;
  samlClients?: SamlClientOptions[];
  users?: KeycloakUser[];
}

export interface StartKeycloakOptions {
  /** The realm to create; default 'sso-test'. More realms: `addRealm`. */
  realm?: string;
  /** Shorthand for one SAML client in `samlClients` (give both or neither). */
  spEntityId?: string;
  acsUrl?: string;
  samlClients?: SamlClientOptions[];
  users?: KeycloakUser[];
  /** The JDK to run Keycloak with; default KEYCLOAK_JAVA_HOME, else the newest supported one found. */
  javaHome?: string;
  /** An unzipped Keycloak distribution; default KEYCLOAK_HOME, else the cached one. */
  keycloakHome?: string;
  /** How long to wait for Keycloak to answer once started; default 3 minutes. */
  startTimeoutMs?: number;
}

/** One realm of the running Keycloak: one SAML IdP with its own entity ID, key and users. */
export interface KeycloakRealm {
  realm: string;
  /** http://127.0.0.1:PORT/realms/REALM, also the IdP's entity ID. */
  realmUrl: string;
  idpEntityId: string;
  /** SingleSignOnService location (HTTP-Redirect and HTTP-POST). */
  ssoUrl: string;
  idpMetadataUrl: string;
  /** The metadata as fetched right after the realm was created. */
  idpMetadataXml: string;
  addSamlClient(client: SamlClientOptions): Promise<void>;
  addUser(user: KeycloakUser): Promise<void>;
}

export interface KeycloakServer extends KeycloakRealm {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  keycloakVersion: string;
  java: JavaRuntime;
  /** Keycloak's stdout and stderr. */
  logFile: string;
  /** From spawning kc.sh until Keycloak answered HTTP, in milliseconds (realm creation excluded). */
  startupMs: number;
  addRealm(options: KeycloakRealmOptions): Promise<KeycloakRealm>;
  /** SIGTERM, then SIGKILL, to Keycloak's whole process group; resolves when it is gone. */
  stop(): Promise<void>;
}

const ADMIN_USER = 'admin';
const DEFAULT_START_TIMEOUT_MS = 3 * 60_000;
// Saving a class-data archive at exit makes the first shutdown slower; give it time.
const STOP_GRACE_MS = 20_000;
/**
 * Only the C1 compiler: a test server lives too briefly for C2 to pay off, and on 2 cores C2's
 * compile threads compete with the start. Measured here (JDK 25, until Keycloak answers): JVM CPU
 * time ~23 s with C2, ~15 s with C1 only, ~12 s adding the class-data archive of
 * classDataSharing(); wall time ~15 s, ~13 s and ~10 s. Realm creation was no slower.
 */
const FAST_START_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1'];

export async function startKeycloak(options: StartKeycloakOptions = {}): Promise<KeycloakServer> {
  const firstRealm: KeycloakRealmOptions = {
    realm: options.realm ?? 'sso-test',
    samlClients: [...shorthandClient(options), ...(options.samlClients ?? [])],
    users: options.users,
  };
  const environment = keycloakEnvironment();
  const java = await findJava(options.javaHome ?? environment.javaHome);
  const { home } = await ensureKeycloakDistribution({
    java,
    keycloakHome: options.keycloakHome ?? environment.keycloakHome,
    cacheDir: environment.cacheDir,
  });

  const workDir = await mkdtemp(join(tmpdir(), 'keycloak-'));
  const logFile = join(workDir, 'keycloak.log');
  const adminPassword = randomBytes(16).toString('hex');
  const cds = await classDataSharing(home, java);
  const startedAt = Date.now();
  const { server, ports } = await launch({
    home,
    java,
    workDir,
    logFile,
    adminPassword,
    jvmOptions: [...FAST_START_JVM_OPTIONS, ...cds.jvmOptions],
    timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
  }).catch(async (error: unknown) => {
    await cds.keepArchive({ code: null, signal: null });
    throw error;
  });
  const startupMs = Date.now() - startedAt;
  const baseUrl = baseUrlFor(ports[0]);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    await cds.keepArchive(await server.exited);
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    const admin = new KeycloakAdmin({ baseUrl, username: ADMIN_USER, password: adminPassword });
    const addRealm = async (realmOptions: KeycloakRealmOptions): Promise<KeycloakRealm> => {
      await admin.createRealm(realmOptions.realm, realmOptions.samlClients ?? [], realmOptions.users ?? []);
      return describeRealm(baseUrl, realmOptions.realm, admin);
    };
    const first = await addRealm(firstRealm);
    return { ...first, baseUrl, keycloakVersion: KEYCLOAK_VERSION, java, logFile, startupMs, addRealm, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface LaunchOptions {
  home: string;
  java: JavaRuntime;
  workDir: string;
  logFile: string;
  adminPassword: string;
  jvmOptions: string[];
  timeoutMs: number;
}

/** Runs `kc.sh start` on a free port under the watchdog and waits until it answers. */
async function launch(options: LaunchOptions) {
  return startUntilReady({
    name: `Keycloak ${KEYCLOAK_VERSION}`,
    portCount: 1,
    timeoutMs: options.timeoutMs,
    spawnOptions: ([port]) => ({
      // env(1) adjusts kc.sh's environment: the watchdog passes on the one it inherited from us.
      command: '/usr/bin/env',
      args: [
        ...envArguments(
          keycloakProcessEnv(options.java, {
            KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN_USER,
            // Visible in ps, which is fine for a throwaway admin of a loopback-only test server.
            KC_BOOTSTRAP_ADMIN_PASSWORD: options.adminPassword,
            JAVA_OPTS_APPEND: options.jvmOptions.join(' '),
          }),
        ),
        join(options.home, 'bin', 'kc.sh'),
        ...keycloakStartArguments(baseUrlFor(port), options.workDir),
      ],
      cwd: options.workDir,
      logFile: options.logFile,
      graceMs: STOP_GRACE_MS,
    }),
    isReady: async ([port]) => {
      const response = await fetch(`${baseUrlFor(port)}/realms/master`, {
        signal: AbortSignal.timeout(2_000),
      });
      await response.body?.cancel();
      return response.ok;
    },
  });
}

/** `kc.sh` arguments for a server on `baseUrl` whose per-run files live in `workDir`. */
function keycloakStartArguments(baseUrl: string, workDir: string): string[] {
  const { port } = new URL(baseUrl);
  return [
    'start',
    // Use the build made by keycloakInstall.ts instead of re-augmenting (~20 s) on every start.
    '--optimized',
    '--http-enabled=true',
    '--http-host=127.0.0.1',
    `--http-port=${port}`,
    // Every URL Keycloak renders (metadata, form actions, redirects) uses this origin.
    `--hostname=${baseUrl}`,
    // A single node: no cluster discovery on the network.
    '--cache=local',
    // The transaction log defaults to <home>/data, shared by every server started from the cache.
    `-Dquarkus.transaction-manager.object-store.directory=${join(workDir, 'transaction-logs')}`,
  ];
}

async function describeRealm(baseUrl: string, realm: string, admin: KeycloakAdmin): Promise<KeycloakRealm> {
  const realmUrl = `${baseUrl}/realms/${encodeURIComponent(realm)}`;
  const idpMetadataUrl = `${realmUrl}/protocol/saml/descriptor`;
  const response = await fetch(idpMetadataUrl);
  const idpMetadataXml = await response.text();
  if (!response.ok)
    throw new Error(`Keycloak metadata ${idpMetadataUrl}: ${response.status} ${idpMetadataXml}`);
  return {
    realm,
    realmUrl,
    idpEntityId: realmUrl,
    ssoUrl: `${realmUrl}/protocol/saml`,
    idpMetadataUrl,
    idpMetadataXml,
    addSamlClient: (client) => admin.addSamlClient(realm, client),
    addUser: (user) => admin.addUser(realm, user),
  };
}

function shorthandClient(options: StartKeycloakOptions): SamlClientOptions[] {
  if (options.spEntityId === undefined && options.acsUrl === undefined) return [];
  if (options.spEntityId === undefined || options.acsUrl === undefined) {
    throw new Error('startKeycloak: give spEntityId and acsUrl together (or use samlClients)');
  }
  return [{ spEntityId: options.spEntityId, acsUrl: options.acsUrl }];
}

function baseUrlFor(port: number | undefined): string {
  if (port === undefined) throw new Error('no port was allocated for Keycloak');
  return `http://127.0.0.1:${port}`;
}

/** Arguments for env(1) that turn this process's environment into `target`. */
function envArguments(target: NodeJS.ProcessEnv): string[] {
  const args: string[] = [];
  for (const name of Object.keys(process.env)) if (target[name] === undefined) args.push('-u', name);
  for (const [name, value] of Object.entries(target)) {
    if (value !== undefined && process.env[name] !== value) args.push(`${name}=${value}`);
  }
  return args;
}

interface ClassDataSharing {
  jvmOptions: string[];
  /** After the JVM has exited: keep the archive it wrote, if it wrote a complete one. */
  keepArchive(exit: { code: number | null; signal: NodeJS.Signals | null }): Promise<void>;
}

/**
 * Class-data sharing saves ~3 s per start: the first server a JDK runs writes an archive of the
 * classes it loaded when it exits; later servers map it instead of loading those classes again.
 * The archive is written to a unique name and renamed into place, so parallel servers never read
 * a half-written one; a stale or mismatched archive only makes the JVM ignore it.
 */
async function classDataSharing(home: string, java: JavaRuntime): Promise<ClassDataSharing> {
  const dir = join(home, CDS_DIR);
  const archive = join(dir, `java-${java.version}.jsa`);
  await removeAbandonedArchives(dir);
  if (await isNonEmptyFile(archive)) {
    return { jvmOptions: [`-XX:SharedArchiveFile=${archive}`], keepArchive: () => Promise.resolve() };
  }
  await mkdir(dir, { recursive: true });
  const pending = `${archive}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  return {
    jvmOptions: [`-XX:ArchiveClassesAtExit=${pending}`],
    keepArchive: async (exit) => {
      // kc.sh exits with the JVM's status: 143 after a clean SIGTERM shutdown, 137 if it was killed
      // (maybe mid-write).
      if (exit.code === 143 && (await isNonEmptyFile(pending))) await rename(pending, archive);
      else await rm(pending, { force: true });
    },
  };
}

/** Pending archives (~150 MB each) of test processes that died before they could keep them. */
async function removeAbandonedArchives(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /\.jsa\.(\d+)-[0-9a-f]+\.tmp$/.exec(name)?.[1];
    if (owner && !isAlive(Number(owner))) await rm(join(dir, name), { force: true });
  }
}

async function isNonEmptyFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && info.size > 0;
  } catch {
    return false;
  }
}
