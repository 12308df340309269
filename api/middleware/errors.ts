// Every failure leaves as application/problem+json (RFC 9457) with a stable `code`. Unknown errors
// become a bare 500: their message and stack may hold internals, so neither reaches the client
// and only the error's name and code reach the log.
import type { Middleware } from 'koa';
import { ZodError } from 'zod';
import { isMongoUnavailable } from '../../db/client';
import { DomainError, type ErrorCode } from '../../domain/errors';
import type { Logger } from '../../logger';
import { isTemporalUnavailable } from '../../temporal/client';
import type { ApiState } from '../context';

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

function problemFromDomainError(error: DomainError): Problem {
  return {
    type: `urn:sso:problem:${error.code}`,
    title: error.message,
    status: error.status,
    code: error.code,
    ...error.extensions,
  };
}

function problemFor(code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return problemFromDomainError(new DomainError(code, detail, extensions));
}

/** Errors thrown by Koa's body parser and http-errors carry an HTTP status and an `expose` flag. */
function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function toProblem(error: unknown): Problem {
  if (error instanceof DomainError) return problemFromDomainError(error);
  if (error instanceof ZodError) {
    return problemFor('validation_failed', 'The request is not valid', {
      // Paths and messages only: echoing the rejected values could leak passwords or tokens.
      errors: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  const status = httpStatusOf(error);
  if (status === 413) return problemFor('payload_too_large', 'The request body is too large');
  if (status === 415) return problemFor('unsupported_media_type', 'The request body must be JSON');
  if (status === 404) return problemFor('not_found', 'Not found');
  if (status === 405) return problemFor('method_not_allowed', 'Method not allowed');
  if (status !== undefined) return problemFor('bad_request', 'The request could not be read');
  // A database or Temporal outage is not our bug: the client may repeat the request, and every
  // write behind it is idempotent, so a repeat finishes what this attempt started.
  if (isMongoUnavailable(error) || isTemporalUnavailable(error))
    return problemFor('try_again_later', 'A service this request needs is not answering; try again shortly', {
      retryAfterSeconds: 5,
    });
  return problemFor('internal_error', 'Something went wrong on our side');
}

export function errorHandler(logger: Logger): Middleware<ApiState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError('not_found', 'Not found');
    } catch (error) {
      const problem = toProblem(error);
      problem.instance = ctx.state.requestId;
      if (problem.status >= 500) {
        logger.error(
          {
            requestId: ctx.state.requestId,
            errorName: (error as Error)?.name,
            errorCode: (error as { code?: unknown })?.code,
          },
          'request failed',
        );
      }
      ctx.status = problem.status;
      // Clients and proxies read the header (RFC 9110); the body says the same for scripts.
      if (typeof problem.retryAfterSeconds === 'number')
        ctx.set('Retry-After', String(problem.retryAfterSeconds));
      ctx.type = 'application/problem+json';
      ctx.body = problem;
    }
  };
}
