// Worker bootstrap: workflows come bundled from workflows/index.ts (or a prebuilt bundle, which
// tests build once per run and the production build writes beside dist/worker.js), activities from
// the factory over injected dependencies.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkflowBundle, type WorkflowBundlePath } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** File name of the workflow bundle that `npm run build` (scripts/build.ts) writes next to worker.js. */
export const PREBUILT_WORKFLOW_BUNDLE = 'workflow-bundle.js';

/**
 * The built worker (dist/worker.js: this module bundled into it) runs the prebuilt bundle beside
 * it; from the TypeScript sources (tsx) there is none, and the worker bundles workflows/ at start.
 */
function prebuiltWorkflowBundle(): WorkflowBundlePath | undefined {
  const codePath = fileURLToPath(new URL(`./${PREBUILT_WORKFLOW_BUNDLE}`, import.meta.url));
  return existsSync(codePath) ? { codePath } : undefined;
}

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  workflowBundle?: WorkflowBundle;
}

export async function createWorker(
  options: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  const workflowBundle = options.workflowBundle ?? prebuiltWorkflowBundle();
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities(options.deps),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  return { worker, connection };
}
