import { Client, Connection, isGrpcServiceError } from '@temporalio/client';

export async function connectTemporalClient(address: string, namespace: string): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection, namespace });
}

/** gRPC status codes DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and UNAVAILABLE (@grpc/grpc-js is not a runtime dependency). */
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
