import { describe, expect, it } from 'vitest';
import { SamlRequestStoreError, SamlValidationError } from '../../sso/saml/errors';
import {
  createInMemorySamlRequestStore,
  createSamlCacheProvider,
  type SamlRequestStore,
} from '../../sso/saml/requestStore';
import { createSamlClient } from '../../sso/saml/samlClient';
import { TEST_IDP, TEST_SP, buildSamlResponse, testIdpKey } from '../helpers/samlIdp';

describe('in-memory SAML request store', () => {
  it('lets a request be consumed once, by its own connection, before it expires', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const store = createInMemorySamlRequestStore({ now: () => now });
    await store.save('_a', 'con_1', new Date('2026-01-01T00:10:00Z'));
    await store.save('_b', 'con_1', new Date('2026-01-01T00:10:00Z'));

    expect(await store.consume('_a', 'con_2')).toBe(false);
    expect(await store.consume('_a', 'con_1')).toBe(true);
    expect(await store.consume('_a', 'con_1')).toBe(false);
    expect(await store.consume('_unknown', 'con_1')).toBe(false);

    now = new Date('2026-01-01T00:10:00Z');
    expect(await store.consume('_b', 'con_1')).toBe(false);
  });

  it('gives a request to only one of many concurrent consumers', async () => {
    const store = createInMemorySamlRequestStore();
    await store.save('_a', 'con_1', new Date(Date.now() + 60_000));
    const results = await Promise.all(Array.from({ length: 10 }, () => store.consume('_a', 'con_1')));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('node-saml cache provider adapter', () => {
  it('saves with the connection and expiry, and consumes on the first read', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const store = createInMemorySamlRequestStore({ now: () => now });
    const cache = createSamlCacheProvider(store, {
      connectorId: 'con_1',
      requestTtlMs: 60_000,
      now: () => now,
    });

    await cache.saveAsync('_a', now.toISOString());
    expect(await cache.getAsync('_a')).toBe(now.toISOString());
    // Repeated reads within one validation answer from memory; the store no longer has the ID.
    expect(await cache.getAsync('_a')).toBe(now.toISOString());
    expect(await store.consume('_a', 'con_1')).toBe(false);
    expect(await cache.removeAsync('_a')).toBe('_a');
    expect(await cache.getAsync('_a')).toBeNull();
  });

  it('burns a request ID that is removed without having been read', async () => {
    const store = createInMemorySamlRequestStore();
    await store.save('_a', 'con_1', new Date(Date.now() + 60_000));
    const cache = createSamlCacheProvider(store, { connectorId: 'con_1', requestTtlMs: 60_000 });
    await cache.removeAsync('_a');
    expect(await store.consume('_a', 'con_1')).toBe(false);
  });

  it('answers null for IDs the store does not have', async () => {
    const cache = createSamlCacheProvider(createInMemorySamlRequestStore(), {
      connectorId: 'con_1',
      requestTtlMs: 60_000,
    });
    expect(await cache.getAsync('_missing')).toBeNull();
  });
});

describe('SAML client with a failing request store', () => {
  it('reports a store outage as a store error, not as a refused response', async () => {
    const working = createInMemorySamlRequestStore();
    let down = false;
    const flaky: SamlRequestStore = {
      save: (...args) => working.save(...args),
      consume: (...args) =>
        down ? Promise.reject(new Error('connection refused')) : working.consume(...args),
    };
    const client = createSamlClient({
      connectorId: 'con_test',
      spEntityId: TEST_SP.entityId,
      acsUrl: TEST_SP.acsUrl,
      idp: {
        entityId: TEST_IDP.entityId,
        ssoUrl: TEST_IDP.ssoUrl,
        certificates: [testIdpKey().certificatePem],
      },
      clockSkewMs: 0,
      requestTtlMs: 60_000,
      requestStore: flaky,
    });
    const { requestId } = await client.buildLoginUrl('x');
    down = true;

    const outcome = client.validatePostResponse({
      SAMLResponse: buildSamlResponse({ inResponseTo: requestId }),
    });

    await expect(outcome).rejects.toBeInstanceOf(SamlRequestStoreError);
    await expect(outcome).rejects.not.toBeInstanceOf(SamlValidationError);
  });
});
