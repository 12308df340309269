// The body of a SAML validation worker thread (see validationPool.ts): the whole of
// createSamlClient().validatePostResponse, the CPU-bound XML parsing, canonicalization and
// signature checks, with the request store left on the main thread. node-saml consumes the
// response's request ID while it validates; here that step is a message to the main thread,
// which owns the database connection, so its order and its atomicity stay exactly as they are
// on the main thread.
import type { MessagePort } from 'node:worker_threads';
import { SamlRequestStoreError, SamlValidationError, type SamlValidationErrorCode } from './errors';
import type { SamlRequestStore } from './requestStore';
import { createSamlClient, type SamlAssertion, type SamlClientOptions } from './samlClient';
import type { SignInFailureDetails } from '../../domain/signInDiagnostics';

export interface SamlValidationTask {
  options: Omit<SamlClientOptions, 'requestStore'>;
  body: { SAMLResponse?: unknown; RelayState?: unknown };
  /** Answers `ConsumeRequest`s with `ConsumeAnswer`s. */
  port: MessagePort;
}

export interface ConsumeRequest {
  id: number;
  requestId: string;
  connectorId: string;
}

export type ConsumeAnswer = { id: number; consumed: boolean } | { id: number; failed: true };

/** Errors do not cross threads with their class; outcomes say which one it was. */
export type SamlValidationOutcome =
  | { ok: true; assertion: SamlAssertion }
  | { ok: false; code: SamlValidationErrorCode; message: string; details: SignInFailureDetails }
  | { ok: false; storeFailed: true };

/** The request store as a thread sees it: every consume is a round trip to the main thread. */
function storeOverPort(port: MessagePort): SamlRequestStore {
  let next = 0;
  const pending = new Map<number, (answer: ConsumeAnswer) => void>();
  port.on('message', (answer: ConsumeAnswer) => {
    pending.get(answer.id)?.(answer);
    pending.delete(answer.id);
  });
  return {
    save: () => Promise.reject(new Error('logins are not built in validation threads')),
    consume(requestId, connectorId) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, (answer) =>
          'failed' in answer ? reject(new Error('the request store failed')) : resolve(answer.consumed),
        );
        port.postMessage({ id, requestId, connectorId } satisfies ConsumeRequest);
      });
    },
  };
}

export default async function validateInThread(task: SamlValidationTask): Promise<SamlValidationOutcome> {
  try {
    const client = createSamlClient({ ...task.options, requestStore: storeOverPort(task.port) });
    return { ok: true, assertion: await client.validatePostResponse(task.body) };
  } catch (error) {
    if (error instanceof SamlValidationError)
      return { ok: false, code: error.code, message: error.message, details: error.details };
    if (error instanceof SamlRequestStoreError) return { ok: false, storeFailed: true };
    throw error;
  } finally {
    task.port.close();
  }
}
