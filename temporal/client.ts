import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isGrpcServiceError,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';

/**
 * About two seconds of retries (100 ms growing by 1.7, five attempts) instead of the SDK's ten
 * attempts over some twenty seconds: a caller of the API would otherwise wait that long for its
 * 503 while Temporal restarts, and every caller here (a person, an admin, an activity) repeats
 * the request itself.
 */
const RETRY_ATTEMPTS = 5;

export async function connectTemporalClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({
    address,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: RETRY_ATTEMPTS }))],
  });
  return new Client({ connection, namespace });
}

/** gRPC DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and UNAVAILABLE (@grpc/grpc-js is not a runtime dependency). */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([4, 8, 14]);

/**
 * Whether `error` (or an error it wraps: the client wraps gRPC errors in ServiceError) says the
 * Temporal frontend cannot be reached or cannot serve now: a restart, an outage, overload.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 8; depth++) {
    if (isGrpcServiceError(cause) && UNAVAILABLE_CODES.has(cause.code)) return true;
    cause = cause.cause;
  }
  return false;
}
