// The response half of the HTTP contract, held against every answer the integration suite gets
// through helpers/http.ts: the answer must be one its operation in api/openapi.ts declares, and its
// body must pass the declared schema (api/schemas.ts). Success bodies are strict objects, so a
// field nobody declared (a token, a digest, a certificate) fails whichever test received it.
import { z } from 'zod';
import { OPERATIONS, problemStatuses, type Operation } from '../../api/openapi';
import { problem } from '../../api/schemas';

/** What a client saw: enough to hold it against the declared contract. */
export interface SeenResponse {
  method: string;
  /** As requested: a concrete path, with or without a query string. */
  path: string;
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it was not JSON, or undefined when empty. */
  body: unknown;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const ROUTES = OPERATIONS.map((operation) => ({
  operation,
  pattern: new RegExp(
    `^${operation.path
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment)))
      .join('/')}$`,
  ),
}));

/** The operation serving `method` on a concrete path such as /v1/orgs/org_…/domains/dom_…. */
export function operationFor(method: string, path: string): Operation | undefined {
  const pathname = new URL(path, 'http://api.invalid').pathname;
  return ROUTES.find(
    ({ operation, pattern }) => operation.method === method.toLowerCase() && pattern.test(pathname),
  )?.operation;
}

function schemaBreach(schema: z.ZodType, body: unknown): string | undefined {
  const result = schema.safeParse(body);
  return result.success ? undefined : `a body its schema refuses:\n${z.prettifyError(result.error)}`;
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/** Why the answer breaks the declared contract, or undefined when it keeps it. */
export function contractBreach(seen: SeenResponse): string | undefined {
  const operation = operationFor(seen.method, seen.path);
  const contentType = seen.headers.get('content-type') ?? '';
  if (seen.status >= 400) {
    if (!contentType.startsWith('application/problem+json'))
      return `an error as ${contentType || 'no content type'} instead of application/problem+json`;
    const declared = operation && problemStatuses(operation);
    if (declared && !declared.includes(seen.status))
      return `${seen.status}, which is not among its declared problem statuses (${declared.join(', ')})`;
    const refused = schemaBreach(problem, seen.body);
    if (refused) return refused;
    const requestId = seen.headers.get('x-request-id');
    if (requestId && (seen.body as { instance: string }).instance !== requestId)
      return `a problem whose instance is not its X-Request-Id (${requestId})`;
    return undefined;
  }
  // A success from a route the document does not describe: httpContract.test.ts lists those.
  if (!operation) return `${seen.status} from a route api/openapi.ts does not describe`;
  const other = operation.answers?.[seen.status];
  if (other) {
    if (other.contentType && !contentType.startsWith(other.contentType))
      return `${seen.status} as ${contentType || 'no content type'} instead of ${other.contentType}`;
    if (isRedirect(seen.status) && !seen.headers.get('location')) return `a ${seen.status} without Location`;
    return undefined;
  }
  if (seen.status !== operation.success && !operation.alsoSuccess?.includes(seen.status))
    return `${seen.status}, which it does not declare (its success is ${operation.success})`;
  if (!operation.response) return seen.body === undefined ? undefined : 'a body where none is declared';
  if (!contentType.startsWith('application/json'))
    return `${contentType || 'no content type'} instead of application/json`;
  return schemaBreach(operation.response, seen.body);
}

/** Throws, naming the route and what is wrong, when the answer breaks the declared contract. */
export function assertDeclaredResponse(seen: SeenResponse): void {
  const breach = contractBreach(seen);
  if (breach === undefined) return;
  const operation = operationFor(seen.method, seen.path);
  const route = `${seen.method.toUpperCase()} ${operation?.path ?? seen.path}`;
  throw new Error(`Response contract (api/schemas.ts, api/openapi.ts): ${route} answered ${breach}`);
}
