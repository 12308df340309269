// Tearing down a connection with many identities on the real stack: DELETE through the API, the
// connectorTeardown workflow on a real worker and Temporal dev server (grace period 0), batches of
// TEARDOWN_BATCH_SIZE identities until the connection is gone. The baseline, in the same run, is
// the same deletions done directly: bulk deletes of the same number of identities in batches of
// the same size, with no workflow, no user checks and no progress records. Identities per second
// and the process's memory growth (the worker runs in this process, beside an idle API) for both.
//
// TEARDOWN_BENCH_IDENTITIES sets the number of identities (default 100,000). Every user has a
// password, so no setup email is sent: the benchmark measures the removal, not SMTP.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config';
import type { Collections } from '../db/collections';
import { newId } from '../db/ids';
import type { ConnectorId, OrgId } from '../domain/ids';
import { createLogger } from '../logger';
import { runApi } from '../runtime/runApi';
import { runWorker } from '../runtime/runWorker';
import { openServices } from '../runtime/services';
import { startServers } from '../servers';
import { createBenchConnection } from './fixtures';
import { peakRssMb } from './harness';

const DOMAIN = 'teardown-bench.example.com';
const INSERT_CHUNK = 5_000;
const MB = 1024 * 1024;

function identitiesWanted(): number {
  const raw = process.env.TEARDOWN_BENCH_IDENTITIES;
  const count = raw === undefined ? 100_000 : Number(raw);
  if (!Number.isInteger(count) || count < 1)
    throw new Error('TEARDOWN_BENCH_IDENTITIES must be a positive integer');
  return count;
}

/** `count` users (with a password) linked to `connectorId`, inserted in bulk. */
async function seed(
  c: Collections,
  orgId: OrgId,
  connectorId: string,
  prefix: string,
  count: number,
): Promise<void> {
  const now = new Date();
  for (let start = 0; start < count; start += INSERT_CHUNK) {
    const users = [];
    const identities = [];
    for (let i = start; i < Math.min(count, start + INSERT_CHUNK); i++) {
      const userId = `usr_${prefix}${String(i).padStart(32 - prefix.length, '0')}`;
      const email = `${prefix}${i}@${DOMAIN}`;
      const identityId = `${connectorId}:${i}`;
      users.push({
        _id: userId,
        email,
        emailVerified: { at: now, method: 'sso' as const, identityId },
        name: null,
        avatarUrl: null,
        passwordHash: 'scrypt$bench',
        needsPasswordSetup: false,
        totpSecret: null,
        createdAt: now,
        updatedAt: now,
      });
      identities.push({
        _id: identityId,
        connectorId,
        orgId,
        subject: email,
        userId,
        profile: { department: 'Engineering', employeeId: String(i) },
        createdAt: now,
        lastSignInAt: now,
      });
    }
    await c.users.insertMany(users as never[], { ordered: false });
    await c.ssoIdentities.insertMany(identities as never[], { ordered: false });
  }
}

/** Runs `work` while sampling RSS: elapsed seconds and the largest rise above the start. */
async function sampled(work: () => Promise<void>): Promise<{ seconds: number; rssGrowthMb: number }> {
  globalThis.gc?.();
  const startRss = process.memoryUsage.rss();
  let peak = startRss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds: (performance.now() - started) / 1000, rssGrowthMb: (peak - startRss) / MB };
}

export async function runConnectorTeardownBench(): Promise<void> {
  const count = identitiesWanted();
  const dir = await mkdtemp(join(tmpdir(), 'sso-bench-'));
  const servers = await startServers({ dataDir: join(dir, 'servers'), headless: true });
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: 'bench-operator-token',
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      CONNECTOR_DELETE_GRACE: '0ms',
      ...(process.env.TEARDOWN_BATCH_SIZE ? { TEARDOWN_BATCH_SIZE: process.env.TEARDOWN_BATCH_SIZE } : {}),
    },
    { developmentDefaults: true },
  );
  const services = await openServices(
    config,
    { mongodbUri: servers.mongoUri, temporalAddress: servers.temporalAddress },
    createLogger('silent'),
  );
  const worker = await runWorker(services);
  const api = await runApi(services, 0);
  const { c } = services;
  try {
    const { orgId, connectorId } = await createBenchConnection(c, api.url, config.adminToken, DOMAIN);
    const admin = { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' };
    const baselineConnectorId = newId<ConnectorId>('con');

    const seedStart = performance.now();
    // The baseline's identities first: FerretDB v1 filters by scanning in insertion order, so
    // neither side scans past the other's documents (both are gone by the time the other runs).
    await seed(c, orgId, baselineConnectorId, 'b', count);
    await seed(c, orgId, connectorId, 'a', count);
    console.log(
      `seeded 2 × ${count} identities and users in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );

    // Baseline: the same deletions, directly, in batches of the same size.
    const batchSize = config.teardown.batchSize;
    const baseline = await sampled(async () => {
      for (;;) {
        const batch = await c.ssoIdentities
          .find({ connectorId: baselineConnectorId }, { projection: { _id: 1 } })
          .limit(batchSize)
          .toArray();
        if (batch.length === 0) break;
        await c.ssoIdentities.deleteMany({ _id: { $in: batch.map((identity) => identity._id) } });
      }
    });

    // Subject: DELETE through the API, then wait for the workflow to finish.
    const subject = await sampled(async () => {
      const deleted = await fetch(`${api.url}/v1/orgs/${orgId}/connectors/${connectorId}`, {
        method: 'DELETE',
        headers: { authorization: admin.authorization },
      });
      if (deleted.status !== 202) throw new Error(`DELETE answered ${deleted.status}`);
      for (;;) {
        const teardown = await c.teardowns.findOne({ _id: connectorId });
        if (teardown?.phase === 'done') {
          if (teardown.processed !== count) throw new Error(`removed ${teardown.processed} of ${count}`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
    const left = await c.ssoIdentities.countDocuments({});
    if (left !== 0) throw new Error(`${left} identities left`);

    const rate = (run: { seconds: number }) => count / run.seconds;
    console.log(`\nconnection teardown of ${count} identities (batches of ${batchSize})`);
    console.log('variant               seconds   identities/s   +RSS MB');
    for (const [name, run] of [
      ['teardown workflow', subject],
      ['direct bulk deletes', baseline],
    ] as const)
      console.log(
        `${name.padEnd(20)}  ${run.seconds.toFixed(1).padStart(7)}  ${rate(run).toFixed(0).padStart(13)}  ${run.rssGrowthMb.toFixed(1).padStart(8)}`,
      );
    const ratio = rate(subject) / rate(baseline);
    console.log(`  teardown rate / baseline rate: ${ratio.toFixed(2)} (goal: at least 0.5)`);
    console.log(
      JSON.stringify({
        bench: 'connector-teardown',
        identities: count,
        batch_size: batchSize,
        subject: 'teardown workflow',
        seconds: Number(subject.seconds.toPrecision(4)),
        identities_per_s: Number(rate(subject).toPrecision(4)),
        worker_rss_growth_mb: Number(subject.rssGrowthMb.toPrecision(4)),
        baseline: {
          name: 'direct bulk deletes',
          seconds: Number(baseline.seconds.toPrecision(4)),
          identities_per_s: Number(rate(baseline).toPrecision(4)),
          rss_growth_mb: Number(baseline.rssGrowthMb.toPrecision(4)),
        },
        ratio: Number(ratio.toPrecision(3)),
        rss_mb: Number(peakRssMb().toPrecision(4)),
        node: process.version,
        cpus: availableParallelism(),
      }),
    );
  } finally {
    await api.close();
    await worker.shutdown();
    await services.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
