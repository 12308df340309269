// What the embedded servers alone allow on this machine, next to the sign-in goals: the fastest a
// sign-in could ever go while it starts a workflow and waits on it (Temporal dev server), or
// while it makes the two writes a returning sign-in cannot do without (MongoDB-protocol server).
// The baseline is node-saml alone validating signed responses serially, as in `sso-sign-in`.
// Nothing of the product runs here: these are ceilings, not its figures.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { startServers } from '../servers';
import { buildSamlResponse, plainNodeSaml } from '../test/helpers/samlIdp';
import { cpuSampler, driveConcurrently, percentile } from './harness';

const TASK_QUEUE = 'server-floors';
const COUNTS = { 1: 100, 8: 400 } as const;

interface Figures {
  name: string;
  concurrency: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU milliseconds per operation, by server. */
  cpu: Map<string, number>;
}

type CpuSampler = () => Promise<Map<string, number>>;

async function drive(
  name: string,
  concurrency: 1 | 8,
  op: (i: number) => Promise<unknown>,
  cpu: CpuSampler,
): Promise<Figures> {
  const n = COUNTS[concurrency];
  const cpuBefore = await cpu();
  const { latencies, wallMs } = await driveConcurrently(n, concurrency, op);
  const cpuAfter = await cpu();
  return {
    name,
    concurrency,
    opsPerSecond: n / (wallMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpu: new Map([...cpuAfter].map(([server, ms]) => [server, (ms - (cpuBefore.get(server) ?? 0)) / n])),
  };
}

async function nodeSamlBaseline(): Promise<number> {
  const saml = plainNodeSaml({ acceptedClockSkewMs: 60_000 });
  const responses = Array.from({ length: 200 }, (_, i) => buildSamlResponse({ nameId: `p${i}@example.com` }));
  for (const SAMLResponse of responses.slice(0, 20)) await saml.validatePostResponseAsync({ SAMLResponse });
  const start = performance.now();
  for (const SAMLResponse of responses) await saml.validatePostResponseAsync({ SAMLResponse });
  return responses.length / ((performance.now() - start) / 1000);
}

export async function runServerFloorsBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floors-bench-'));
  const servers = await startServers({ dataDir: join(dir, 'servers'), headless: true });
  Runtime.install({
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  const mongo = await MongoClient.connect(servers.mongoUri);
  const workerConnection = await NativeConnection.connect({ address: servers.temporalAddress });
  const connection = await Connection.connect({ address: servers.temporalAddress });
  const client = new Client({ connection });
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue: TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./floorWorkflows.ts', import.meta.url)),
    activities: { nothing: () => Promise.resolve() },
  });
  const running = worker.run();
  try {
    const before = await nodeSamlBaseline();
    const runId = randomBytes(4).toString('hex');
    const execute = (workflow: string) => (i: number) =>
      client.workflow.execute(workflow, {
        taskQueue: TASK_QUEUE,
        workflowId: `${workflow}-${runId}-${i}-${Math.random()}`,
      });

    // A returning sign-in's two writes: its identity refreshed by _id, its session inserted.
    const db = mongo.db(`floors_${runId}`);
    const identities = db.collection<{ _id: string; lastSignInAt?: Date }>('identities');
    const sessions = db.collection<{ _id: string; at: Date }>('sessions');
    await identities.insertMany(Array.from({ length: 2_000 }, (_, i) => ({ _id: `id${i}` })));
    const twoWrites = (i: number) =>
      Promise.all([
        identities.findOneAndUpdate({ _id: `id${(i * 7) % 2_000}` }, { $set: { lastSignInAt: new Date() } }),
        sessions.insertOne({ _id: `s${i}-${Math.random()}`, at: new Date() }),
      ]);

    const cpu = cpuSampler({ temporal: servers.pids.temporal, [servers.mongoKind]: servers.pids.mongo });
    for (let i = 0; i < 20; i += 1) await execute('twoLocalActivities')(i);
    const figures: Figures[] = [];
    for (const concurrency of [1, 8] as const) {
      figures.push(
        await drive('workflow: start + result, no activity', concurrency, execute('emptyRun'), cpu),
      );
      figures.push(
        await drive(
          'workflow: start + result, 2 local activities',
          concurrency,
          execute('twoLocalActivities'),
          cpu,
        ),
      );
      figures.push(await drive('database: identity update + session insert', concurrency, twoWrites, cpu));
    }
    const after = await nodeSamlBaseline();
    const baseline = (before + after) / 2;

    console.log(
      `\nserver-floors: the embedded servers alone (Temporal dev server, ${servers.mongoKind}), no product code`,
    );
    console.log(
      `baseline: node-saml alone, serially: ${baseline.toFixed(1)} /s (start ${before.toFixed(1)}, end ${after.toFixed(1)})`,
    );
    const rows = figures.map((f) => [
      f.name,
      String(f.concurrency),
      f.opsPerSecond.toFixed(1),
      (f.opsPerSecond / baseline).toFixed(2),
      f.p50Ms.toFixed(1),
      f.p99Ms.toFixed(1),
      (f.cpu.get('temporal') ?? NaN).toFixed(2),
      (f.cpu.get(servers.mongoKind) ?? NaN).toFixed(2),
    ]);
    const header = [
      'floor',
      'c',
      'rate /s',
      '× baseline',
      'p50 ms',
      'p99 ms',
      'Temporal CPU ms/op',
      `${servers.mongoKind} CPU ms/op`,
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: readonly string[]) =>
      cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of rows) console.log(line(row));
    console.log(
      JSON.stringify({
        bench: 'server-floors',
        mongo: servers.mongoKind,
        baseline_ops_per_s: Math.round(baseline * 10) / 10,
        floors: figures.map((f) => ({
          name: f.name,
          concurrency: f.concurrency,
          ops_per_s: Math.round(f.opsPerSecond * 10) / 10,
          ratio: Math.round((f.opsPerSecond / baseline) * 1000) / 1000,
          p50_ms: Math.round(f.p50Ms * 100) / 100,
          p99_ms: Math.round(f.p99Ms * 100) / 100,
          cpu_ms: Object.fromEntries([...f.cpu].map(([k, v]) => [k, Math.round(v * 100) / 100])),
        })),
      }),
    );
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await workerConnection.close();
    await mongo.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
