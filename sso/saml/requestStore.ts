// AuthnRequest IDs this SP has issued and not yet seen answered. A response is accepted only for
// an ID still in the store (SP-initiated only), and taking the ID out is one atomic step, so the
// same response posted twice, even at the same instant on two API replicas, signs in at most once.
import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import { SamlRequestStoreError } from './errors';

export interface SamlRequestStore {
  save(requestId: string, connectorId: string, expiresAt: Date): Promise<void>;
  /**
   * Removes the request if it exists, belongs to `connectorId` and has not expired, and says
   * whether it did. Must be atomic: of concurrent calls for one ID, at most one returns true.
   */
  consume(requestId: string, connectorId: string): Promise<boolean>;
}

/** A single-process store for unit tests and single-instance development. */
export function createInMemorySamlRequestStore(options: { now?: () => Date } = {}): SamlRequestStore {
  const now = options.now ?? (() => new Date());
  const requests = new Map<string, { connectorId: string; expiresAt: Date }>();

  function pruneExpired(at: number): void {
    for (const [requestId, request] of requests) {
      if (request.expiresAt.getTime() <= at) requests.delete(requestId);
    }
  }

  return {
    save(requestId, connectorId, expiresAt) {
      pruneExpired(now().getTime());
      requests.set(requestId, { connectorId, expiresAt });
      return Promise.resolve();
    },
    // No await between the read and the delete: that is what makes this atomic in one process.
    consume(requestId, connectorId) {
      const request = requests.get(requestId);
      if (!request || request.connectorId !== connectorId || request.expiresAt.getTime() <= now().getTime()) {
        return Promise.resolve(false);
      }
      requests.delete(requestId);
      return Promise.resolve(true);
    },
  };
}

export interface SamlCacheProviderOptions {
  connectorId: string;
  requestTtlMs: number;
  now?: () => Date;
}

/**
 * Adapts a {@link SamlRequestStore} to node-saml's CacheProvider, for ONE login or ONE response
 * validation: create a new adapter each time.
 *
 * node-saml reads a request ID (`getAsync`, up to twice per response) before it removes it, which
 * alone would let two concurrent posts of one response both pass. Here the first read already
 * consumes the ID atomically in the store, and later reads of the same ID by the same validation
 * answer from memory. `removeAsync` consumes too, so a validation that failed also burns its ID.
 */
export function createSamlCacheProvider(
  store: SamlRequestStore,
  options: SamlCacheProviderOptions,
): CacheProvider {
  const now = options.now ?? (() => new Date());
  // What this validation has taken out of the store: the value node-saml sees, or null once removed.
  const taken = new Map<string, string | null>();

  async function guarded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new SamlRequestStoreError({ cause: error });
    }
  }

  return {
    async saveAsync(key: string, value: string): Promise<CacheItem> {
      const createdAt = now().getTime();
      await guarded(() => store.save(key, options.connectorId, new Date(createdAt + options.requestTtlMs)));
      return { value, createdAt };
    },
    async getAsync(key: string): Promise<string | null> {
      const earlier = taken.get(key);
      if (earlier !== undefined) return earlier;
      const found = await guarded(() => store.consume(key, options.connectorId));
      // node-saml reads the value as the request's creation time and checks it against its own
      // expiry period; the store has already enforced the real expiry, so "now" always passes.
      const value = found ? now().toISOString() : null;
      taken.set(key, value);
      return value;
    },
    async removeAsync(key: string | null): Promise<string | null> {
      if (key === null) return null;
      if (!taken.has(key)) await guarded(() => store.consume(key, options.connectorId));
      taken.set(key, null);
      return key;
    },
  };
}
