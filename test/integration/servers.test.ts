import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { Connection } from '@temporalio/client';
import { type Db, MongoClient } from 'mongodb';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';

import { startServers } from '../../servers';
import { SEARCH_ATTRIBUTES } from '../../workflows/searchAttributes';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the servers the global setup provides', () => {
  it('include a Temporal dev server that answers and knows our search attributes', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: 'default' });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });

      expect(namespaceInfo?.name).toBe('default');
      expect(Object.keys(customAttributes)).toEqual(
        expect.arrayContaining(SEARCH_ATTRIBUTES.map(({ name }) => name)),
      );
    } finally {
      await connection.close();
    }
  });

  it('include a MongoDB-protocol server that stores and reads documents', async () => {
    const client = new MongoClient(inject('mongoUri'));
    const db = client.db(`servers_${randomUUID().slice(0, 8)}`);
    try {
      await db.collection('probe').insertOne({ value: 1 });

      expect(await db.collection('probe').findOne({ value: 1 })).toMatchObject({ value: 1 });
      expect(['mongod', 'ferretdb']).toContain(inject('mongoKind'));
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });

  it('include a workflow bundle built once for the whole run', async () => {
    const bundle = await stat(inject('workflowBundlePath'));

    expect(bundle.size).toBeGreaterThan(1_000);
  });
});

describe('server lifetime', () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  let childServers: Started | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'servers-lifetime-'));
  });

  afterEach(async () => {
    child?.kill('SIGKILL');
    if (childServers) await waitUntilGone([childServers.pids.temporal, childServers.pids.mongo], 30_000);
    child = childServers = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  interface Started {
    mongoUri: string;
    pids: { temporal: number; mongo: number };
  }

  /** Runs `npm run servers -- start` as a plain node process (tsx's CLI would add a middle process). */
  async function startServersInChild(): Promise<Started> {
    const started = spawn(
      process.execPath,
      ['--import', 'tsx', 'servers/cli.ts', 'start', '--headless', '--data-dir', dataDir],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: started.stdout });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      new Promise<never>((_, reject) =>
        started.once('exit', () => reject(new Error(`servers/cli.ts exited:\n${stderr}`))),
      ),
    ]);
    childServers = JSON.parse(first) as Started;
    expect(isRunning(childServers.pids.temporal)).toBe(true);
    expect(isRunning(childServers.pids.mongo)).toBe(true);
    return childServers;
  }

  async function interruptChild(): Promise<void> {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child?.kill('SIGINT');
    await exited;
  }

  it('stops both servers when their parent is SIGKILLed', async () => {
    const { pids } = await startServersInChild();

    child?.kill('SIGKILL');

    expect(await waitUntilGone([pids.temporal, pids.mongo], 30_000)).toEqual([]);
    const temporalLog = await readFile(join(dataDir, 'temporal', 'temporal.log'), 'utf8');
    expect(temporalLog).toMatch(/parent process \d+ is gone/);
  });

  it('stops both servers when their parent is interrupted with Ctrl-C (SIGINT)', async () => {
    const { pids } = await startServersInChild();

    await interruptChild();

    expect(await waitUntilGone([pids.temporal, pids.mongo], 30_000)).toEqual([]);
  });

  it('refuses to start a second set of servers on a data directory in use', async () => {
    await startServersInChild();

    await expect(startServers({ dataDir, headless: true })).rejects.toThrow(
      /is in use by the servers of process \d+/,
    );
  });

  it('keeps data in the data directory across restarts', async () => {
    const first = await startServersInChild();
    await withDb(first.mongoUri, (db) => db.collection('kept').insertOne({ name: 'survivor' }));
    await interruptChild();
    expect(await waitUntilGone([first.pids.temporal, first.pids.mongo], 30_000)).toEqual([]);

    const second = await startServersInChild();

    const found = await withDb(second.mongoUri, (db) => db.collection('kept').findOne({ name: 'survivor' }));
    expect(found).toMatchObject({ name: 'survivor' });
  });
});

async function withDb<T>(uri: string, use: (db: Db) => Promise<T>): Promise<T> {
  const client = new MongoClient(uri);
  try {
    return await use(client.db('lifetime'));
  } finally {
    await client.close();
  }
}

/** PIDs still running after `timeoutMs` (none, if all exited). */
async function waitUntilGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isRunning);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await sleep(100);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process that exited but has not been reaped by its parent yet still answers kill(0).
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
