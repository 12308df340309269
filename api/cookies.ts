// Cookie names and transport flags in one place. Over https (every real deployment) cookies carry
// the `__Host-` prefix: browsers then accept them only when Secure, with Path=/ and no Domain,
// set by this exact host, so a sibling subdomain cannot plant or overwrite them (cookie tossing).
// Browsers refuse Secure cookies from plain-http origins, so development and test setups on http
// use the bare names without Secure; no real deployment is plain http (config.ts refuses it).
import type { Config } from '../config';

export function servesHttps(config: Config): boolean {
  return config.publicUrl.startsWith('https://');
}

export function cookieName(config: Config, name: 'sso_session' | 'sso_binding'): string {
  return servesHttps(config) ? `__Host-${name}` : name;
}
