// SAML validation off the API's event loop. Checking a response is CPU-bound (XML parsing,
// canonicalization, RSA): on the main thread it stalls every other request of the process and
// leaves the other cores idle. A piscina pool runs it on worker threads; the request store stays
// here, with the database connection (validationThread.ts says how the two talk).
//
// The thread's code is a separate module: under tsx (development, tests) the TypeScript source,
// loaded through tsx's loader; in the production bundle the `samlValidationWorker.js` that
// `npm run build` writes beside `api.js`.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { SamlRequestStoreError, SamlValidationError } from './errors';
import { createSamlClient, type SamlAssertion, type SamlClientOptions } from './samlClient';
import type {
  ConsumeAnswer,
  ConsumeRequest,
  SamlValidationOutcome,
  SamlValidationTask,
} from './validationThread';

export interface SamlValidator {
  /** createSamlClient(options).validatePostResponse(body), wherever this validator runs it. */
  validate(
    options: SamlClientOptions,
    body: { SAMLResponse?: unknown; RelayState?: unknown },
  ): Promise<SamlAssertion>;
  close(): Promise<void>;
}

/** Validates on the calling thread (tests of single requests, `SAML_VALIDATION_THREADS=0`). */
export const inlineSamlValidator: SamlValidator = {
  validate: (options, body) => createSamlClient(options).validatePostResponse(body),
  close: () => Promise.resolve(),
};

/**
 * The bundled thread module sits beside the bundle; sources run through tsx's loader, named
 * explicitly because a thread takes only some of the process's flags (not `--expose-gc`, say),
 * and vitest's processes have no tsx loader of their own.
 */
function threadModule(): { filename: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { filename: new URL('./validationThread.ts', here).href, execArgv: ['--import', tsx] };
  }
  return { filename: new URL('./samlValidationWorker.js', here).href, execArgv: [] };
}

export function createSamlValidator(threads: number): SamlValidator {
  if (threads === 0) return inlineSamlValidator;
  const { filename, execArgv } = threadModule();
  const pool = new Piscina<SamlValidationTask, SamlValidationOutcome>({
    filename,
    execArgv,
    minThreads: threads,
    maxThreads: threads,
    // A validation waits in the middle for the main thread to consume its request ID; meanwhile its
    // thread takes on another one, so a busy main thread does not leave the threads idle.
    concurrentTasksPerWorker: 4,
    idleTimeout: 60_000,
  });
  return {
    async validate(options, body) {
      const { requestStore, ...plain } = options;
      const { port1, port2 } = new MessageChannel();
      let storeError: unknown;
      port1.on('message', (request: ConsumeRequest) => {
        requestStore.consume(request.requestId, request.connectorId).then(
          (consumed) => port1.postMessage({ id: request.id, consumed } satisfies ConsumeAnswer),
          (error: unknown) => {
            storeError = error;
            port1.postMessage({ id: request.id, failed: true } satisfies ConsumeAnswer);
          },
        );
      });
      try {
        const outcome = await pool.run({ options: plain, body, port: port2 }, { transferList: [port2] });
        if (outcome.ok) return outcome.assertion;
        if ('storeFailed' in outcome) throw new SamlRequestStoreError({ cause: storeError });
        throw new SamlValidationError(outcome.code, outcome.message, outcome.details);
      } finally {
        port1.close();
      }
    },
    close: () => pool.destroy(),
  };
}
