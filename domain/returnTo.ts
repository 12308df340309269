// Open-redirect defence: a returnTo must be an absolute http(s) URL whose origin is one of the
// configured allowed origins; anything else (other hosts, protocol-relative, javascript:) is refused.

/** The normalized URL when allowed, otherwise undefined. */
export function allowedReturnTo(
  raw: string | undefined,
  allowedOrigins: readonly string[],
  fallback: string,
): string | undefined {
  if (raw === undefined || raw === '') return fallback;
  if (raw.length > 2048 || /[\s\\]/.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  return allowedOrigins.includes(url.origin) ? url.href : undefined;
}
