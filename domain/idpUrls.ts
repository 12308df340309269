// Which URLs an IdP connection may name: the SSO URL browsers are sent to and the metadata URL
// the worker reads. Over plain http anyone on the path can read the AuthnRequest and the user's
// IdP session, or swap the signing certificate in a metadata document, so production takes
// https only; development and tests may use http (a local IdP, a test server).

/**
 * `refuse`: https only (production). `loopback`: http only to this machine, which no one on the
 * network can intercept. `allow`: any http (development and tests).
 */
export type InsecureHttpPolicy = 'refuse' | 'loopback' | 'allow';

export function insecureHttpPolicy(env: 'development' | 'test' | 'production'): InsecureHttpPolicy {
  return env === 'production' ? 'refuse' : 'allow';
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Why `raw` cannot be an IdP URL under `policy`, or undefined when it can. */
export function idpUrlProblem(raw: string, policy: InsecureHttpPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return 'must be an https URL';
  if (policy === 'allow' || (policy === 'loopback' && LOOPBACK_HOSTS.has(url.hostname))) return undefined;
  return 'must be an https URL';
}
