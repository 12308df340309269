// `npm run histories:record`: runs each workflow type for real and saves its histories under
// test/histories/, which test/integration/workflowReplay.test.ts replays against today's code.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/histories/record.histories.ts'],
    pool: 'forks',
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
