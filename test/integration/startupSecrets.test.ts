// The API and the worker started as an operator starts them (no NODE_ENV, as in a bare container)
// refuse to run on missing or public secrets, and say which variable to set. Only `npm run dev`
// and the test stack fall back to development values (devEntry.test.ts covers the former).
import { describe, expect, it } from 'vitest';
import { DEV_ADMIN_TOKEN, DEV_SESSION_SECRET } from '../../config';
import { runNode } from '../helpers/process';

describe.each(['api.ts', 'worker.ts'])('%s', (entryPoint) => {
  it('refuses to start without ADMIN_TOKEN and SESSION_SECRET, naming both', async () => {
    const { code, output } = await runNode(['--import', 'tsx', entryPoint], {});
    expect(code).toBe(1);
    expect(output).toMatch(/ADMIN_TOKEN: must be set/);
    expect(output).toMatch(/SESSION_SECRET: must be set/);
    // A configuration problem is a message for the operator, not a crash with a stack trace.
    expect(output).not.toMatch(/\n\s+at /);
  });

  it('refuses the published development secrets even with NODE_ENV=development', async () => {
    const { code, output } = await runNode(['--import', 'tsx', entryPoint], {
      NODE_ENV: 'development',
      ADMIN_TOKEN: DEV_ADMIN_TOKEN,
      SESSION_SECRET: DEV_SESSION_SECRET,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/ADMIN_TOKEN: is a published development value/);
    expect(output).toMatch(/SESSION_SECRET: is a published development value/);
    expect(output).not.toContain(DEV_SESSION_SECRET);
  });
});
