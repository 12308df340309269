// 1,000 domain verifications pending at once on the real stack: the API adds them (one
// domainVerification run each, on a worker in its own process), the test DNS server answers "no
// such record" while they wait, then every record appears at once and each domain gets "check
// now". Printed: the worker's RSS and CPU while the runs wait (they sleep on server timers, so
// the worker should be nearly idle), and the time from the records appearing to every domain
// verified. The baseline, in the same run, is the bare DNS work: the same number of TXT lookups
// through the same resolver code at the same concurrency, with no workflow.
//
// PENDING_BENCH_DOMAINS sets the number of domains (default 1000); PENDING_BENCH_WAIT_S how long
// the idle worker is watched (default 20).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDnsActivities } from '../activities/dns';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runApi } from '../runtime/runApi';
import { openServices } from '../runtime/services';
import { startServers } from '../servers';
import { startDnsServer } from '../test/helpers/dnsServer';
import { startNode, type StartedProcess } from '../test/helpers/process';

const ORGS = 10;
const CONCURRENCY = 25;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** CPU seconds (user + system) and RSS of a Linux process, read from /proc. */
function processUsage(pid: number): { cpuSeconds: number; rssMb: number } {
  // Fields after the command name (which may hold spaces) start at index 2 (state); utime and
  // stime are fields 14 and 15 of the whole line. Clock ticks are 100 per second on Linux.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return { cpuSeconds: ticks / 100, rssMb: rssKb / 1024 };
}

interface Watch {
  seconds: number;
  cpuPercent: number;
  rssMb: number;
  peakRssMb: number;
}

/** Samples the process every 250 ms while `work` runs. */
async function watch(pid: number, work: () => Promise<void>): Promise<Watch> {
  const start = processUsage(pid);
  let peak = start.rssMb;
  const timer = setInterval(() => (peak = Math.max(peak, processUsage(pid).rssMb)), 250);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  const end = processUsage(pid);
  return {
    seconds,
    cpuPercent: ((end.cpuSeconds - start.cpuSeconds) / seconds) * 100,
    rssMb: end.rssMb,
    peakRssMb: Math.max(peak, end.rssMb),
  };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runPendingVerificationsBench(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('this benchmark reads the worker from /proc (Linux)');
  const count = positiveInteger('PENDING_BENCH_DOMAINS', 1000);
  const waitSeconds = positiveInteger('PENDING_BENCH_WAIT_S', 20);
  const dir = await mkdtemp(join(tmpdir(), 'sso-bench-'));
  const servers = await startServers({ dataDir: join(dir, 'servers'), headless: true });
  const dns = await startDnsServer();
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    MONGODB_URI: servers.mongoUri,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '2s',
    // No re-check falls inside the watched wait, so it shows what waiting itself costs (with
    // production's 1 m, the re-checks of the first domains added would land in it).
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '10m',
  };
  const config = loadConfig({ ...env, PORT: '0' }, { developmentDefaults: true });
  const services = await openServices(
    config,
    { mongodbUri: servers.mongoUri, temporalAddress: servers.temporalAddress },
    // Errors only: a failed request says which error it met.
    createLogger('error'),
  );
  const api = await runApi(services, 0);
  let worker: StartedProcess | undefined;
  try {
    worker = startNode(['--import', 'tsx', join(ROOT, 'worker.ts')], { ...env, LOG_LEVEL: 'info' });
    const workerProcess = worker;
    await until(
      'the worker',
      () => Promise.resolve(workerProcess.output().includes('worker running')),
      120_000,
    );
    const pid = worker.child.pid!;
    const idle = processUsage(pid);

    const admin = { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: admin,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
    };
    const orgs: string[] = [];
    for (let i = 0; i < ORGS; i++) {
      const org = await post('/v1/orgs', { name: `Bench ${i}`, plan: 'business' });
      orgs.push(org.body.id as string);
    }
    const domains: { orgId: string; id: string; record: { name: string; value: string } }[] = [];
    const indices = Array.from({ length: count }, (_, i) => i);
    const addErrors: number[] = [];
    const addStart = performance.now();
    await pool(indices, CONCURRENCY, async (i) => {
      const orgId = orgs[i % ORGS]!;
      const domain = `pending-${i}.bench.example.com`;
      let added = await post(`/v1/orgs/${orgId}/domains`, { domain });
      // Adding a pending domain again is the documented repair (200); server errors are counted
      // and printed, not hidden: FerretDB has answered InternalError (code 1) here under load.
      for (let attempt = 1; added.status >= 500 && attempt <= 3; attempt++) {
        addErrors.push(added.status);
        added = await post(`/v1/orgs/${orgId}/domains`, { domain });
      }
      if (added.status !== 201 && added.status !== 200)
        throw new Error(`adding a domain answered ${added.status}`);
      domains.push({
        orgId,
        id: added.body.id as string,
        record: added.body.txtRecord as { name: string; value: string },
      });
    });
    const addSeconds = (performance.now() - addStart) / 1000;
    await until(
      'every first check',
      async () => (await services.c.domains.countDocuments({ checks: { $gte: 1 } })) >= count,
    );
    const firstChecksSeconds = (performance.now() - addStart) / 1000;

    const waiting = await watch(pid, () => new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000)));
    const stillPending = await services.c.domains.countDocuments({ status: 'pending' });

    // Every record appears at once, and the admins click "check now".
    for (const domain of domains) dns.setTxt(domain.record.name, [domain.record.value]);
    const recordsAt = performance.now();
    let checkNowSeconds = 0;
    const verifying = await watch(pid, async () => {
      await pool(domains, CONCURRENCY, async (domain) => {
        const answer = await post(`/v1/orgs/${domain.orgId}/domains/${domain.id}/verify`);
        if (answer.status !== 202) throw new Error(`check now answered ${answer.status}`);
      });
      checkNowSeconds = (performance.now() - recordsAt) / 1000;
      await until(
        'every domain verified',
        async () => (await services.c.domains.countDocuments({ status: 'verified' })) >= count,
      );
    });

    // Baseline: the bare lookups, same resolver code and concurrency, no workflow.
    const { lookupTxt } = createDnsActivities({ servers: [dns.address], timeoutMs: 2_000 });
    const baselineStart = performance.now();
    await pool(domains, CONCURRENCY, async (domain) => {
      const result = await lookupTxt(domain.record.name);
      if (!result.found) throw new Error('a published record was not found');
    });
    const baselineSeconds = (performance.now() - baselineStart) / 1000;

    const fmt = (value: number, digits = 1) => value.toFixed(digits);
    console.log(`\n${count} pending domain verifications (${ORGS} organizations), worker in its own process`);
    console.log(
      `  added through the API in ${fmt(addSeconds)} s (${addErrors.length} server errors, repeated: ${addErrors.join(', ') || 'none'}); every first check done after ${fmt(firstChecksSeconds)} s`,
    );
    console.log(`  worker before the domains: RSS ${fmt(idle.rssMb)} MB`);
    console.log(
      `  worker while ${stillPending} runs wait (${waitSeconds} s): CPU ${fmt(waiting.cpuPercent)} % of one core, RSS ${fmt(waiting.rssMb)} MB (peak ${fmt(waiting.peakRssMb)} MB)`,
    );
    console.log(
      `  records appear + check now → all verified: ${fmt(verifying.seconds, 2)} s (${fmt(count / verifying.seconds, 0)} domains/s; every check-now answered after ${fmt(checkNowSeconds, 2)} s), worker CPU ${fmt(verifying.cpuPercent)} %, peak RSS ${fmt(verifying.peakRssMb)} MB`,
    );
    console.log(
      `  baseline: ${count} bare TXT lookups in ${fmt(baselineSeconds, 2)} s (${fmt(count / baselineSeconds, 0)}/s); verification / baseline time: ${fmt(verifying.seconds / baselineSeconds)}`,
    );
    console.log(
      JSON.stringify({
        bench: 'pending-verifications',
        domains: count,
        add_seconds: Number(addSeconds.toPrecision(4)),
        add_server_errors: addErrors.length,
        waiting: {
          seconds: waitSeconds,
          pending: stillPending,
          worker_cpu_percent: Number(waiting.cpuPercent.toPrecision(3)),
          worker_rss_mb: Number(waiting.rssMb.toPrecision(4)),
          worker_idle_rss_mb: Number(idle.rssMb.toPrecision(4)),
        },
        verify_seconds: Number(verifying.seconds.toPrecision(4)),
        check_now_seconds: Number(checkNowSeconds.toPrecision(4)),
        verify_worker_cpu_percent: Number(verifying.cpuPercent.toPrecision(3)),
        verify_worker_peak_rss_mb: Number(verifying.peakRssMb.toPrecision(4)),
        baseline: { name: 'bare TXT lookups', seconds: Number(baselineSeconds.toPrecision(4)) },
        node: process.version,
        cpus: availableParallelism(),
      }),
    );
  } finally {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await api.close();
    await services.close();
    await dns.stop();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
