import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_VARIABLES,
  ConfigError,
  DEV_ADMIN_TOKEN,
  DEV_SESSION_SECRET,
  loadConfig,
  parseDuration,
} from '../../config';

const DEV = { developmentDefaults: true };
const strongSecret = () => randomBytes(32).toString('base64url');
const PRODUCTION = {
  SMTP_URL: 'smtp://mail.example.com:587',
  PUBLIC_URL: 'https://sso.example.com',
  MONGODB_URI: 'mongodb://db',
  TEMPORAL_ADDRESS: 'temporal:7233',
};

/** The ConfigError message loadConfig throws for `env`. */
function configErrorFor(env: Record<string, string>, options = {}): string {
  try {
    loadConfig(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected loadConfig to refuse this configuration');
}

describe('configuration', () => {
  it('has a working default for every setting at the development entry point', () => {
    const config = loadConfig({}, DEV);
    expect(config).toMatchObject({
      env: 'development',
      adminToken: DEV_ADMIN_TOKEN,
      sessionSecret: DEV_SESSION_SECRET,
      previousSessionSecrets: [],
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
    // docs/rules.md, rule 10: a deleted connection waits a day, restorable.
    expect(config.teardown).toEqual({ graceMs: 24 * 3_600_000, batchSize: 500, batchesPerRun: 100 });
    expect(config.email.passwordSetupTtlMs).toBe(7 * 24 * 3_600_000);
  });

  it('takes the teardown settings, a grace period of zero included', () => {
    const config = loadConfig(
      { CONNECTOR_DELETE_GRACE: '0ms', TEARDOWN_BATCH_SIZE: '50', TEARDOWN_BATCHES_PER_RUN: '7' },
      DEV,
    );
    expect(config.teardown).toEqual({ graceMs: 0, batchSize: 50, batchesPerRun: 7 });
    expect(() => loadConfig({ TEARDOWN_BATCH_SIZE: '0' }, DEV)).toThrow(/TEARDOWN_BATCH_SIZE/);
    expect(() => loadConfig({ PASSWORD_SETUP_TTL: '0s' }, DEV)).toThrow(/PASSWORD_SETUP_TTL/);
  });

  it('takes rate limits, proxy hops and metrics settings, off or safe by default', () => {
    const defaults = loadConfig({}, DEV);
    expect(defaults.trustProxyHops).toBe(0);
    expect(defaults.rateLimits).toEqual({
      windowMs: 60_000,
      perIp: 300,
      perAccount: 10,
      perConnection: 1200,
    });
    expect(defaults.metricsToken).toBeUndefined();
    expect(defaults.workerMetrics).toBeUndefined();
    const set = loadConfig(
      {
        TRUST_PROXY: 'true',
        RATE_LIMIT_WINDOW: '5m',
        RATE_LIMIT_PER_IP: '0',
        RATE_LIMIT_PER_ACCOUNT: '5',
        METRICS_TOKEN: 'a-metrics-token-of-some-length',
        WORKER_METRICS_PORT: '9464',
      },
      DEV,
    );
    expect(set.trustProxyHops).toBe(1);
    expect(set.rateLimits).toMatchObject({ windowMs: 300_000, perIp: 0, perAccount: 5 });
    expect(set.workerMetrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ TRUST_PROXY: '2' }, DEV).trustProxyHops).toBe(2);
    expect(() => loadConfig({ TRUST_PROXY: 'yes' }, DEV)).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ RATE_LIMIT_WINDOW: '0s' }, DEV)).toThrow(/RATE_LIMIT_WINDOW/);
    expect(() => loadConfig({ RATE_LIMIT_PER_IP: '-1' }, DEV)).toThrow(/RATE_LIMIT_PER_IP/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' }, DEV)).toThrow(/METRICS_TOKEN/);
  });

  it('parses lists, origins and durations', () => {
    const config = loadConfig(
      {
        DNS_SERVERS: '127.0.0.1:5353, [::1]:53',
        ALLOWED_RETURN_ORIGINS: 'https://app.example.com/some/path,https://desk.example.com',
        DOMAIN_VERIFICATION_INITIAL_INTERVAL: '250ms',
      },
      DEV,
    );
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
    expect(() => loadConfig({ [name]: '0s' }, DEV)).toThrow(new RegExp(`${name}: must be longer than zero`));
    expect(() => loadConfig({ [name]: '0ms' }, DEV)).toThrow(ConfigError);
  });

  it('refuses to start anywhere but the development entry point without the secrets, naming them', () => {
    for (const env of [{}, { NODE_ENV: 'development' }, { NODE_ENV: 'test' }] as Record<string, string>[]) {
      const message = configErrorFor(env);
      expect(message).toMatch(/ADMIN_TOKEN: must be set/);
      expect(message).toMatch(/SESSION_SECRET: must be set/);
    }
  });

  it('treats a start without NODE_ENV as production', () => {
    const message = configErrorFor({ ADMIN_TOKEN: strongSecret(), SESSION_SECRET: strongSecret() });
    expect(message).toMatch(/PUBLIC_URL: must be set in production/);
    expect(message).toMatch(/MONGODB_URI: must be set in production/);
    expect(message).toMatch(/TEMPORAL_ADDRESS: must be set in production/);
    const config = loadConfig({ ADMIN_TOKEN: strongSecret(), SESSION_SECRET: strongSecret(), ...PRODUCTION });
    expect(config.env).toBe('production');
  });

  it('gives no development defaults under NODE_ENV=production, even at the development entry point', () => {
    const message = configErrorFor({ NODE_ENV: 'production', ...PRODUCTION }, DEV);
    expect(message).toMatch(/ADMIN_TOKEN: must be set/);
    expect(message).toMatch(/SESSION_SECRET: must be set/);
  });

  it('refuses the published development values outside development', () => {
    const message = configErrorFor({
      NODE_ENV: 'development',
      ADMIN_TOKEN: DEV_ADMIN_TOKEN,
      SESSION_SECRET: DEV_SESSION_SECRET,
    });
    expect(message).toMatch(/ADMIN_TOKEN: is a published development value/);
    expect(message).toMatch(/SESSION_SECRET: is a published development value/);
  });

  it('refuses short or repetitive secrets outside development', () => {
    const message = configErrorFor({
      NODE_ENV: 'development',
      ADMIN_TOKEN: 'operator-token',
      SESSION_SECRET: 'ab'.repeat(32),
      SESSION_SECRET_PREVIOUS: `${strongSecret()},short`,
    });
    expect(message).toMatch(/ADMIN_TOKEN: must be at least 32 characters/);
    expect(message).toMatch(/SESSION_SECRET: is too repetitive/);
    expect(message).toMatch(/SESSION_SECRET_PREVIOUS: must be at least 32 characters/);
    // The refusal names variables, never the values it refused.
    expect(message).not.toContain('operator-token');
  });

  it('refuses an operator token that cannot travel in a Bearer header', () => {
    expect(configErrorFor({ ADMIN_TOKEN: `${strongSecret()} with spaces` }, DEV)).toMatch(
      /ADMIN_TOKEN: must be 1 to 512 visible ASCII characters/,
    );
  });

  it('accepts strong secrets and keeps previous session secrets for rotation', () => {
    const [adminToken, secret, previous] = [strongSecret(), strongSecret(), strongSecret()];
    const config = loadConfig({
      NODE_ENV: 'development',
      ADMIN_TOKEN: adminToken,
      SESSION_SECRET: secret,
      SESSION_SECRET_PREVIOUS: previous,
    });
    expect(config).toMatchObject({
      env: 'development',
      adminToken,
      sessionSecret: secret,
      previousSessionSecrets: [previous],
    });
  });

  it('requires an https PUBLIC_URL in production', () => {
    expect(
      configErrorFor({
        NODE_ENV: 'production',
        ADMIN_TOKEN: strongSecret(),
        SESSION_SECRET: strongSecret(),
        ...PRODUCTION,
        PUBLIC_URL: 'http://sso.example.com',
      }),
    ).toMatch(/PUBLIC_URL: must be an https URL in production/);
  });

  it('requires SMTP in production', () => {
    const { SMTP_URL: _smtp, ...withoutSmtp } = PRODUCTION;
    const message = configErrorFor({
      NODE_ENV: 'production',
      ADMIN_TOKEN: strongSecret(),
      SESSION_SECRET: strongSecret(),
      ...withoutSmtp,
    });
    expect(message).toMatch(/SMTP_URL: must be set in production/);
  });

  it('takes an smtp or smtps URL for email, and derives the sender from PUBLIC_URL', () => {
    const config = loadConfig(
      { SMTP_URL: 'smtps://user:pass@mail.example.com:465', EMAIL_CODE_TTL: '5m' },
      DEV,
    );
    expect(config.email).toEqual({
      smtpUrl: 'smtps://user:pass@mail.example.com:465',
      from: 'no-reply@127.0.0.1',
      codeTtlMs: 300_000,
      passwordSetupTtlMs: 7 * 24 * 3_600_000,
    });
    expect(loadConfig({ PUBLIC_URL: 'https://sso.example.com' }, DEV).email.from).toBe(
      'no-reply@sso.example.com',
    );
    expect(loadConfig({ SMTP_FROM: 'Acme <login@acme.example>' }, DEV).email.from).toBe(
      'Acme <login@acme.example>',
    );
    expect(() => loadConfig({ SMTP_URL: 'https://mail.example.com' }, DEV)).toThrow(/SMTP_URL/);
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
      'SMTP_URL',
      'CONNECTOR_DELETE_GRACE',
      'TRUST_PROXY',
    ]) {
      expect(CONFIG_VARIABLES).toContain(name);
    }
  });
});
