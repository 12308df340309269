// What a password sign-in costs: our scrypt parameters (N=2^15) against N=2^14, the figure often
// quoted as the interactive minimum. Latency is one hash at a time; "saturated" runs one per core
// at once, which is the ceiling on password sign-ins per second for this process.
import { availableParallelism } from 'node:os';
import { randomBytes, scrypt } from 'node:crypto';
import { hashPassword, verifyPassword } from '../security/passwords';
import { measure, printJsonLine, printTable, ratioNote, type MeasureOptions } from './harness';

const OPTIONS: MeasureOptions = { warmup: 2, iterations: 24, rounds: 4 };
const PASSWORD = 'correct horse battery staple';
const BASELINE = { N: 2 ** 14, r: 8, p: 1, keyLength: 32 } as const;
const SATURATED_OPS_PER_CORE = 4;

function baselineScrypt(): Promise<Buffer> {
  const { N, r, p, keyLength } = BASELINE;
  // Same maxmem rule as security/passwords.ts, so only N differs.
  return new Promise((resolve, reject) => {
    scrypt(PASSWORD, randomBytes(16), keyLength, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function runPasswordHashBench(): Promise<void> {
  const stored = await hashPassword(PASSWORD);

  const verify = async (): Promise<void> => {
    if (!(await verifyPassword(PASSWORD, stored))) throw new Error('verifyPassword refused the password');
  };
  const baseline = async (): Promise<void> => {
    if ((await baselineScrypt()).length !== BASELINE.keyLength) throw new Error('unexpected key length');
  };

  const [verifyStats, hashStats, baselineStats] = await measure(
    [
      { name: 'verifyPassword (N=2^15)', run: verify },
      {
        name: 'hashPassword (N=2^15)',
        async run() {
          if (!(await hashPassword(PASSWORD)).startsWith('scrypt$32768$')) throw new Error('unexpected hash');
        },
      },
      { name: 'crypto.scrypt (N=2^14)', run: baseline },
    ],
    OPTIONS,
  );
  if (!verifyStats || !hashStats || !baselineStats) throw new Error('measure returned too few results');

  const cores = availableParallelism();
  const saturatedVerify = await saturatedOpsPerSecond(verify, cores);
  const saturatedBaseline = await saturatedOpsPerSecond(baseline, cores);

  printTable(
    'password-hash: one scrypt at a time (r=8, p=1, 32-byte key)',
    [verifyStats, hashStats, baselineStats],
    [
      ratioNote(verifyStats, baselineStats),
      `saturated (${cores} at once, ${cores} cores): verifyPassword ${saturatedVerify.toFixed(1)} ops/s, ` +
        `baseline ${saturatedBaseline.toFixed(1)} ops/s`,
      `scrypt needs 128·N·r bytes per call: ${(128 * 2 ** 15 * 8) / 2 ** 20} MB at N=2^15, ` +
        `${(128 * BASELINE.N * BASELINE.r) / 2 ** 20} MB at N=2^14`,
      // glibc returns a freed 32 MB block to the kernel at once (it is mmapped), but keeps smaller
      // ones in each thread-pool thread's arena, so at N=2^14 RSS grows by one buffer per thread.
      '+RSS at N=2^14 includes 16 MB buffers the allocator keeps per thread-pool thread after use',
      `p99 of ${verifyStats.ops} samples is their maximum`,
    ],
  );
  printJsonLine('password-hash', verifyStats, baselineStats, {
    saturated_ops_per_s: Number(saturatedVerify.toFixed(2)),
    baseline_saturated_ops_per_s: Number(saturatedBaseline.toFixed(2)),
    hash: {
      ops_per_s: Number(hashStats.opsPerSecond.toFixed(2)),
      p50_ms: Number(hashStats.p50Ms.toFixed(2)),
      p99_ms: Number(hashStats.p99Ms.toFixed(2)),
    },
  });
}

// scrypt runs on libuv's thread pool (4 threads by default), so concurrency up to the core count
// adds throughput and beyond it only adds latency.
async function saturatedOpsPerSecond(operation: () => Promise<void>, concurrency: number): Promise<number> {
  const total = concurrency * SATURATED_OPS_PER_CORE;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started += 1;
      await operation();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return total / ((performance.now() - start) / 1000);
}
