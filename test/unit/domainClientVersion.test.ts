import { describe, expect, it } from 'vitest';
import {
  compareSemVer,
  isDesktopClientTooOld,
  parseClientVersion,
  parseSemVer,
} from '../../domain/clientVersion';

const MIN = '4.4.2';

describe('desktop client minimum version', () => {
  it('lets web clients and requests without the header through', () => {
    expect(isDesktopClientTooOld(undefined, MIN)).toBe(false);
    expect(isDesktopClientTooOld('', MIN)).toBe(false);
    expect(isDesktopClientTooOld('web/1.0.0', MIN)).toBe(false);
    expect(isDesktopClientTooOld('cli/0.1.0', MIN)).toBe(false);
  });

  it('refuses desktop versions below the minimum', () => {
    expect(isDesktopClientTooOld('desktop/4.4.1', MIN)).toBe(true);
    expect(isDesktopClientTooOld('desktop/4.3.9', MIN)).toBe(true);
    expect(isDesktopClientTooOld('desktop/3.99.99', MIN)).toBe(true);
  });

  it('accepts the minimum itself and anything newer', () => {
    expect(isDesktopClientTooOld('desktop/4.4.2', MIN)).toBe(false);
    expect(isDesktopClientTooOld('desktop/4.4.10', MIN)).toBe(false);
    expect(isDesktopClientTooOld('desktop/4.10.0', MIN)).toBe(false);
    expect(isDesktopClientTooOld('desktop/5.0.0', MIN)).toBe(false);
  });

  it('ranks a pre-release of the minimum below the minimum', () => {
    expect(isDesktopClientTooOld('desktop/4.4.2-beta.1', MIN)).toBe(true);
    expect(isDesktopClientTooOld('desktop/4.4.3-beta.1', MIN)).toBe(false);
  });

  it('ignores build metadata, letter case and surrounding space', () => {
    expect(isDesktopClientTooOld(' Desktop/4.4.2+build.7 ', MIN)).toBe(false);
  });

  it('treats a malformed desktop version as too old', () => {
    for (const header of [
      'desktop',
      'desktop/',
      'desktop/4.4',
      'desktop/latest',
      'desktop/04.4.2',
      'desktop/v4.4.2',
    ]) {
      expect(isDesktopClientTooOld(header, MIN), header).toBe(true);
    }
  });

  it('refuses to run with a malformed minimum', () => {
    expect(() => isDesktopClientTooOld('desktop/4.4.2', '4.4')).toThrow(/not a semantic version/);
  });
});

describe('client version header', () => {
  it('reads the platform and version', () => {
    expect(parseClientVersion('desktop/4.5.0')).toEqual({
      platform: 'desktop',
      version: { major: 4, minor: 5, patch: 0, prerelease: [] },
    });
    expect(parseClientVersion('web/2.0.0')).toEqual({ platform: 'web' });
  });
});

describe('semantic version precedence', () => {
  const order = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
  ];

  it('follows semver.org ordering', () => {
    const versions = order.map((text) => parseSemVer(text));
    for (let i = 1; i < versions.length; i++) {
      const [a, b] = [versions[i - 1], versions[i]];
      if (!a || !b) throw new Error('unparsable fixture');
      expect(compareSemVer(a, b), `${order[i - 1]} < ${order[i]}`).toBe(-1);
      expect(compareSemVer(b, a)).toBe(1);
      expect(compareSemVer(a, a)).toBe(0);
    }
  });
});
