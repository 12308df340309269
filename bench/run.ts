// Entry point of `npm run bench`: runs every benchmark, or those named (`npm run bench --
// saml-validate`). Each runs in its own Node process, so its peak RSS is its own and not the
// high-water mark of whatever ran before, and with --expose-gc so blocks start from a clean heap.
import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = {
  'saml-validate': async () => (await import('./samlValidate')).runSamlValidateBench(),
  'saml-hostile': async () => (await import('./samlHostile')).runSamlHostileBench(),
  'password-hash': async () => (await import('./passwordHash')).runPasswordHashBench(),
  'map-profile': async () => (await import('./mapProfile')).runMapProfileBench(),
  'sso-sign-in': async () => (await import('./ssoSignIn')).runSsoSignInBench(),
  'connector-teardown': async () => (await import('./connectorTeardown')).runConnectorTeardownBench(),
  'server-floors': async () => (await import('./serverFloors')).runServerFloorsBench(),
  'pending-verifications': async () =>
    (await import('./pendingVerifications')).runPendingVerificationsBench(),
} satisfies Record<string, () => Promise<void>>;

type BenchmarkName = keyof typeof BENCHMARKS;

const IN_PROCESS = '--in-process';

function isBenchmarkName(name: string): name is BenchmarkName {
  return Object.hasOwn(BENCHMARKS, name);
}

function runChild(name: BenchmarkName): Promise<number> {
  // process.execArgv carries tsx's loader flags, so the child runs TypeScript the same way.
  const args = [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), IN_PROCESS, name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const inProcess = argv.includes(IN_PROCESS);
  const requested = argv.filter((arg) => arg !== IN_PROCESS);
  const unknown = requested.filter((name) => !isBenchmarkName(name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    return 2;
  }
  const names =
    requested.length > 0 ? requested.filter(isBenchmarkName) : (Object.keys(BENCHMARKS) as BenchmarkName[]);

  if (inProcess) {
    for (const name of names) await BENCHMARKS[name]();
    return 0;
  }

  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`,
  );
  let failed = 0;
  for (const name of names) {
    const code = await runChild(name);
    if (code !== 0) {
      console.error(`benchmark ${name} failed (exit code ${code})`);
      failed += 1;
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
