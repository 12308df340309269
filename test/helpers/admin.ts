// Admin-side setup through the public API, so tests exercise the same paths as org admins.
import { expect } from 'vitest';
import { request } from './http';
import { OPERATOR_TOKEN } from './stack';

export interface OrgFixture {
  id: string;
  key: string;
}

export async function createOrgWithKey(
  baseUrl: string,
  plan: 'free' | 'team' | 'business' = 'business',
): Promise<OrgFixture> {
  const org = await request<{ id: string }>(baseUrl, 'POST', '/v1/orgs', {
    token: OPERATOR_TOKEN,
    body: { name: 'Test org', plan },
  });
  expect(org.status).toBe(201);
  const key = await request<{ key: string }>(baseUrl, 'POST', `/v1/orgs/${org.body.id}/api-keys`, {
    token: OPERATOR_TOKEN,
  });
  expect(key.status).toBe(201);
  return { id: org.body.id, key: key.body.key };
}

export function uniqueDomain(prefix = 'corp'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}.example.com`;
}
