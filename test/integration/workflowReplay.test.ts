// Replays the histories recorded from real runs (test/histories/*.json) against today's workflow
// code. A change that would make a run already in flight take another path (a nondeterminism
// error on a live server) fails here instead: guard such a change with `patched()`, or, when old
// runs really cannot continue, re-record (README, "Changing a workflow").
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

const DIR = join(import.meta.dirname, '..', 'histories');
const HISTORIES = readdirSync(DIR).filter((name) => name.endsWith('.json'));
const WORKFLOW_TYPES = [
  'accountLinking',
  'certificateCheck',
  'connectorTeardown',
  'domainVerification',
  'emailDelivery',
  'idpMetadataFetch',
  'jitProvisioning',
  'oidcDiscovery',
  'ssoSignIn',
];

let code: string;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  code = await readFile(inject('workflowBundlePath'), 'utf8');
});

describe('recorded workflow histories', () => {
  it('cover every workflow type the worker runs', async () => {
    const { ...workflows } = await import('../../workflows');
    expect(Object.keys(workflows).sort()).toEqual(WORKFLOW_TYPES);
    const recorded = new Set(HISTORIES.map((name) => name.split('-')[0]?.replace(/\.json$/, '')));
    expect([...recorded].sort()).toEqual(WORKFLOW_TYPES);
  });

  it.each(HISTORIES)('%s replays against the current workflow code', async (name) => {
    // Read back with the generated class that wrote it (see record.histories.ts).
    const recorded = JSON.parse(await readFile(join(DIR, name), 'utf8')) as {
      workflowId: string;
      history: Record<string, unknown>;
    };
    const history = temporal.api.history.v1.History.fromObject(recorded.history);
    await Worker.runReplayHistory({ workflowBundle: { code } }, history, recorded.workflowId);
  });
});
