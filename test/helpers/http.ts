// Small fetch wrappers so tests read as requests and answers. Every answer is also held against
// the declared response contract (helpers/contract.ts), so any test that receives an undeclared
// status or body shape fails, naming the route.
import { assertDeclaredResponse } from './contract';

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON answers (metadata XML, redirects) stay as text.
  }
  assertDeclaredResponse({ method, path, status: response.status, headers: response.headers, body: parsed });
  return { status: response.status, headers: response.headers, body: parsed as T };
}
