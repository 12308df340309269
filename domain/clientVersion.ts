// The desktop app announces itself with `X-Client-Version: desktop/<semver>`. Desktop builds
// older than the configured minimum cannot complete an SSO sign-in, so once a user's domain is
// enforced they are told to upgrade instead of being left in a loop (docs/rules.md, rule 9).

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers (`4.5.0-beta.2` → ['beta', '2']); build metadata is dropped. */
  prerelease: string[];
}

export type ClientInfo =
  | { platform: 'web' }
  /** `version` is null when the header says desktop but the version cannot be read. */
  | { platform: 'desktop'; version: SemVer | null };

// semver.org's grammar: no leading zeros in numeric parts, dot-separated identifiers.
const NUMERIC = '0|[1-9]\\d*';
const IDENTIFIER = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^(${NUMERIC})\\.(${NUMERIC})\\.(${NUMERIC})(?:-(${IDENTIFIER}(?:\\.${IDENTIFIER})*))?(?:\\+${IDENTIFIER}(?:\\.${IDENTIFIER})*)?$`,
);

export function parseSemVer(text: string): SemVer | null {
  const match = SEMVER.exec(text.trim());
  if (!match) return null;
  const [, major = '', minor = '', patch = '', prerelease] = match;
  const numbers = [major, minor, patch].map(Number);
  if (!numbers.every(Number.isSafeInteger)) return null;
  const [maj = 0, min = 0, pat = 0] = numbers;
  return { major: maj, minor: min, patch: pat, prerelease: prerelease ? prerelease.split('.') : [] };
}

/** semver.org §11 precedence: negative when a < b, 0 when equal, positive when a > b. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  // A release ranks above its own pre-releases: 4.4.2-rc.1 < 4.4.2.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return Math.sign(b.prerelease.length - a.prerelease.length);
  }
  const length = Math.max(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < length; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric && yNumeric) return Math.sign(Number(x) - Number(y));
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Reads the header. Anything that is not a desktop client (no header, `web/...`, other
 * products) counts as web: this gate only exists for desktop builds that predate SSO support.
 */
export function parseClientVersion(header: string | undefined): ClientInfo {
  const value = header?.trim() ?? '';
  const slash = value.indexOf('/');
  const platform = (slash === -1 ? value : value.slice(0, slash)).trim().toLowerCase();
  if (platform !== 'desktop') return { platform: 'web' };
  return { platform: 'desktop', version: slash === -1 ? null : parseSemVer(value.slice(slash + 1)) };
}

/**
 * True when a desktop client is older than `minVersion`. A desktop client whose version cannot
 * be read counts as too old: only builds that predate the header's format would send that, and
 * letting it through would defeat the gate. Throws on a malformed `minVersion` (a config bug).
 */
export function isDesktopClientTooOld(header: string | undefined, minVersion: string): boolean {
  const minimum = parseSemVer(minVersion);
  if (!minimum) throw new Error(`Minimum desktop version "${minVersion}" is not a semantic version`);
  const client = parseClientVersion(header);
  if (client.platform !== 'desktop') return false;
  return client.version === null || compareSemVer(client.version, minimum) < 0;
}

/**
 * Why a desktop client must upgrade, or undefined when it may go on: `unreadable` when the header
 * says desktop but its version cannot be read (told apart so the message can say so).
 */
export function desktopUpgradeReason(
  header: string | undefined,
  minVersion: string,
): 'too_old' | 'unreadable' | undefined {
  if (!isDesktopClientTooOld(header, minVersion)) return undefined;
  const client = parseClientVersion(header);
  return client.platform === 'desktop' && client.version === null ? 'unreadable' : 'too_old';
}
