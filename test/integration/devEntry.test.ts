// `npm run dev` as a newcomer runs it: no server variables, so it starts its own Temporal dev
// server (with Web UI) and MongoDB-protocol server under DATA_DIR, the worker and the API; it
// prints the URLs, gets ready, and Ctrl-C stops every process it started.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePorts } from '../../servers/ports';
import { eventually } from '../helpers/wait';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string | undefined;

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** PIDs of processes whose command line contains `text` (Linux /proc). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (commandLine.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

it('starts everything on embedded defaults, prints its URLs, and stops everything on Ctrl-C', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sso-dev-'));
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev.ts'], {
    cwd: ROOT,
    // Only what a newcomer's shell has: no MONGODB_URI, no TEMPORAL_ADDRESS.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await eventually(
      () => Promise.resolve(output.includes('Ctrl-C stops everything') ? true : undefined),
      'dev to start',
      90_000,
    );
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    const uiUrl = /Temporal Web UI:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect(uiUrl).toBeDefined();
    expect((await fetch(uiUrl!)).status).toBe(200);
    expect(output).toMatch(/MongoDB:\s+mongodb:\/\/127\.0\.0\.1:\d+/);
    // Both servers run with their data under DATA_DIR (checked below to be gone after Ctrl-C).
    expect((await processesMentioning(dataDir)).length).toBeGreaterThanOrEqual(2);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  // The servers it started are gone too: no process mentions its data directory any more.
  await eventually(
    async () => ((await processesMentioning(dataDir!)).length === 0 ? true : undefined),
    'the dev servers to stop',
  );
}, 120_000);
