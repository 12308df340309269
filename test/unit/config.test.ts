import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig, parseDuration } from '../../config';

describe('configuration', () => {
  it('has a working default for every setting in development', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      publicUrl: 'http://127.0.0.1:3000',
      mongodbDb: 'sso',
      temporalNamespace: 'default',
      temporalTaskQueue: 'sso-provisioning',
      desktopMinVersion: '4.4.2',
      entraAuthorityHost: 'https://login.microsoftonline.com',
      allowedReturnOrigins: ['http://127.0.0.1:3000'],
      mongodbUri: undefined,
      temporalAddress: undefined,
    });
    expect(config.domainVerification).toEqual({
      initialIntervalMs: 60_000,
      maxIntervalMs: 15 * 60_000,
      deadlineMs: 72 * 3_600_000,
      reverifyIntervalMs: 24 * 3_600_000,
      graceMs: 72 * 3_600_000,
      checksPerRun: 200,
    });
  });

  it('parses lists, origins and durations', () => {
    const config = loadConfig({
      DNS_SERVERS: '127.0.0.1:5353, [::1]:53',
      ALLOWED_RETURN_ORIGINS: 'https://app.example.com/some/path,https://desk.example.com',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '250ms',
    });
    expect(config.dnsServers).toEqual(['127.0.0.1:5353', '[::1]:53']);
    expect(config.allowedReturnOrigins).toEqual(['https://app.example.com', 'https://desk.example.com']);
    expect(config.domainVerification.initialIntervalMs).toBe(250);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
  });

  it('names every bad variable in one startup error', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        DNS_SERVERS: 'no-port',
        DESKTOP_MIN_VERSION: '4.4',
        SIGN_IN_WAIT: 'soon',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'DNS_SERVERS', 'DESKTOP_MIN_VERSION', 'SIGN_IN_WAIT'])
      expect(message).toContain(name);
  });

  it.each([
    'DOMAIN_VERIFICATION_INITIAL_INTERVAL',
    'DOMAIN_VERIFICATION_MAX_INTERVAL',
    'DOMAIN_VERIFICATION_DEADLINE',
    'DOMAIN_REVERIFICATION_INTERVAL',
    'DOMAIN_REVERIFICATION_GRACE',
  ])('refuses a zero %s, which would make verification poll in a busy loop', (name) => {
    expect(() => loadConfig({ [name]: '0s' })).toThrow(new RegExp(`${name}: must be longer than zero`));
    expect(() => loadConfig({ [name]: '0ms' })).toThrow(ConfigError);
  });

  it('requires real secrets and servers in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /ADMIN_TOKEN, SESSION_SECRET, PUBLIC_URL, MONGODB_URI, TEMPORAL_ADDRESS/,
    );
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        ADMIN_TOKEN: 't',
        SESSION_SECRET: 'short',
        PUBLIC_URL: 'https://sso.example.com',
        MONGODB_URI: 'mongodb://db',
        TEMPORAL_ADDRESS: 'temporal:7233',
      }),
    ).toThrow(/SESSION_SECRET must be at least 32/);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        ADMIN_TOKEN: 't',
        SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
        PUBLIC_URL: 'http://sso.example.com',
        MONGODB_URI: 'mongodb://db',
        TEMPORAL_ADDRESS: 'temporal:7233',
      }),
    ).toThrow(/PUBLIC_URL must be an https URL/);
  });

  it('lists the contract names from PRODUCT.md among its variables', () => {
    for (const name of [
      'PORT',
      'PUBLIC_URL',
      'ADMIN_TOKEN',
      'MONGODB_URI',
      'MONGODB_DB',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TASK_QUEUE',
      'SESSION_SECRET',
      'DNS_SERVERS',
      'ALLOWED_RETURN_ORIGINS',
      'DESKTOP_MIN_VERSION',
      'ENTRA_AUTHORITY_HOST',
    ]) {
      expect(CONFIG_VARIABLES).toContain(name);
    }
  });
});
