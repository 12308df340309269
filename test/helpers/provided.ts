// What test/globalSetup.ts hands to every test file through vitest's provide/inject, typed so that
// `inject('temporalAddress')` is a string and a misspelt key does not compile.
// Type-only: this file adds types and must not load vitest at runtime.
import type {} from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the Temporal dev server started for this test run (headless, free port). */
    temporalAddress: string;
    /** mongodb:// URI without a database name; each test file picks its own database. */
    mongoUri: string;
    /** Which server answers mongoUri: tests behave the same on both. */
    mongoKind: 'mongod' | 'ferretdb';
    /** Workflow bundle of workflows/index.ts, built once per run: Worker.create({ workflowBundle: { codePath } }). */
    workflowBundlePath: string;
  }
}
