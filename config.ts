// The only module that reads process.env. Every setting is validated here, once, so a bad value
// stops the process at startup with a message that names the variable, not later mid-request.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import ipaddr from 'ipaddr.js';

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses "500ms", "30s", "15m", "72h", "7d" into milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration such as 500ms, 30s, 15m, 72h or 7d`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

/** A wait that must not be zero: a zero interval turns a polling loop into a busy loop. */
const positiveDuration = (fallback: string) =>
  duration(fallback).refine((ms) => ms > 0, 'must be longer than zero');

const list = z
  .string()
  .default('')
  .transform((text) =>
    text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port');

const origin = z
  .string()
  .url()
  .transform((url) => new URL(url).origin);

const optionalText = z
  .string()
  .optional()
  .transform((text) => (text?.trim() ? text.trim() : undefined));

const semver = z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a version such as 4.4.2');

/** Development defaults: public (they are in this file), so refused everywhere else. */
export const DEV_ADMIN_TOKEN = 'dev-operator-token';
export const DEV_SESSION_SECRET = 'dev-session-secret-change-me-in-production';
const PUBLIC_SECRETS: ReadonlySet<string> = new Set([DEV_ADMIN_TOKEN, DEV_SESSION_SECRET]);
const MIN_SECRET_LENGTH = 32;
/** Fewer distinct characters than this means a typed word or a repeated one, not a random value. */
const MIN_SECRET_DISTINCT_CHARACTERS = 8;
const GENERATE_HINT = 'generate one with `openssl rand -base64 32`';

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: z.string().url().optional(),
  ADMIN_TOKEN: optionalText,
  SESSION_SECRET: optionalText,
  SESSION_SECRET_PREVIOUS: list,
  MONGODB_URI: optionalText,
  MONGODB_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, _ and - only')
    .default('sso'),
  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('sso-provisioning'),
  DNS_SERVERS: list.pipe(z.array(hostPort)),
  ALLOWED_RETURN_ORIGINS: list.pipe(z.array(origin)),
  DESKTOP_MIN_VERSION: semver.default('4.4.2'),
  ENTRA_AUTHORITY_HOST: z.string().url().default('https://login.microsoftonline.com'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/, 'expected a size such as 512kb')
    .default('512kb'),
  SESSION_TTL: duration('12h'),
  DOMAIN_VERIFICATION_INITIAL_INTERVAL: positiveDuration('1m'),
  DOMAIN_VERIFICATION_MAX_INTERVAL: positiveDuration('15m'),
  DOMAIN_VERIFICATION_DEADLINE: positiveDuration('72h'),
  DOMAIN_REVERIFICATION_INTERVAL: positiveDuration('24h'),
  DOMAIN_REVERIFICATION_GRACE: positiveDuration('72h'),
  DOMAIN_VERIFICATION_CHECKS_PER_RUN: z.coerce.number().int().min(1).max(10_000).default(200),
  DNS_TIMEOUT: duration('5s'),
  SAML_CLOCK_SKEW: duration('60s'),
  SAML_REQUEST_TTL: duration('10m'),
  SIGN_IN_WAIT: duration('10s'),
  SIGN_IN_DIAGNOSTICS_TTL: positiveDuration('30d'),
  SAML_VALIDATION_THREADS: z.coerce.number().int().min(0).max(64).optional(),
  IDP_FETCH_ALLOWED_NETWORKS: list.pipe(
    z.array(z.string().refine((text) => ipaddr.isValidCIDR(text), 'expected a network such as 10.0.0.0/8')),
  ),
  SMTP_URL: optionalText.pipe(
    z.url({ protocol: /^smtps?$/, error: 'expected smtp://… or smtps://…' }).optional(),
  ),
  SMTP_FROM: optionalText,
  EMAIL_CODE_TTL: duration('15m'),
  BREAK_GLASS_MAX: z.coerce.number().int().min(0).max(10).default(2),
  CONNECTOR_DELETE_GRACE: duration('24h'),
  TEARDOWN_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  TEARDOWN_BATCHES_PER_RUN: z.coerce.number().int().min(1).max(1_000).default(100),
  PASSWORD_SETUP_TTL: positiveDuration('7d'),
  CERTIFICATE_CHECK_INTERVAL: positiveDuration('24h'),
  DATA_DIR: z.string().min(1).default('.data'),
  TRUST_PROXY: z
    .enum(['false', 'true', '0', '1', '2', '3', '4', '5'])
    .default('false')
    .transform((text) => (text === 'true' ? 1 : text === 'false' ? 0 : Number(text))),
  RATE_LIMIT_WINDOW: positiveDuration('1m'),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(300),
  RATE_LIMIT_PER_ACCOUNT: z.coerce.number().int().min(0).default(10),
  RATE_LIMIT_PER_CONNECTION: z.coerce.number().int().min(0).default(1200),
  METRICS_TOKEN: optionalText.pipe(
    z
      .string()
      .regex(/^[\x21-\x7e]{16,512}$/, 'must be 16 to 512 visible ASCII characters')
      .optional(),
  ),
  WORKER_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

/** Every environment variable the services read (README and docker-compose.yml must agree). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  /** Interface the API binds to; 0.0.0.0 inside a container. */
  host: string;
  /** Base URL that IdPs and browsers reach; SP entity IDs and ACS URLs derive from it. */
  publicUrl: string;
  adminToken: string;
  /** Root of every key the service derives (security/keys.ts); never used as a key itself. */
  sessionSecret: string;
  /** Earlier session secrets, still accepted when verifying during a rotation, never used to sign. */
  previousSessionSecrets: string[];
  /** Unset means "start an embedded MongoDB-protocol server" (npm run dev only). */
  mongodbUri: string | undefined;
  mongodbDb: string;
  /** Unset means "start an embedded Temporal dev server" (npm run dev only). */
  temporalAddress: string | undefined;
  temporalNamespace: string;
  temporalTaskQueue: string;
  dnsServers: string[];
  allowedReturnOrigins: string[];
  desktopMinVersion: string;
  entraAuthorityHost: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimit: string;
  sessionTtlMs: number;
  dnsTimeoutMs: number;
  domainVerification: DomainVerificationTimings;
  saml: { clockSkewMs: number; requestTtlMs: number };
  signInWaitMs: number;
  /** How long the record of each SSO sign-in attempt (sign-in diagnostics) is kept. */
  signInDiagnosticsTtlMs: number;
  /**
   * Worker threads that validate SAML responses off the API's event loop (0: on it). Default: one
   * per CPU, so one API process uses every core for the CPU-bound XML work.
   */
  samlValidationThreads: number;
  /** Private networks the worker may fetch IdP metadata from; public addresses are always allowed. */
  idpFetchAllowedNetworks: string[];
  email: EmailConfig;
  /** Accounts an organization may exempt from its SSO enforcement (break-glass), each with TOTP. */
  breakGlassMax: number;
  teardown: TeardownConfig;
  /** How often the worker's schedule checks IdP certificates and refreshes metadata URLs. */
  certificateCheckIntervalMs: number;
  dataDir: string;
  /**
   * Proxies in front of the API whose `X-Forwarded-For` entries are trusted (0: none, the client
   * is the TCP peer). The client IP is the entry that many hops from the right, which the nearest
   * proxy wrote: entries further left come from the client and can be forged.
   */
  trustProxyHops: number;
  rateLimits: RateLimitConfig;
  /** Bearer token Prometheus scrapes /metrics with; the operator token works too. */
  metricsToken: string | undefined;
  /** Where the worker serves the Temporal SDK's Prometheus metrics; undefined: not served. */
  workerMetrics: { host: string; port: number } | undefined;
}

/** Requests per fixed window on the public routes; 0 turns that limit off. */
export interface RateLimitConfig {
  windowMs: number;
  perIp: number;
  /** Per account (a keyed digest of the email) on the routes that name one. */
  perAccount: number;
  /** Per connection on the SSO login, ACS and OIDC callback. */
  perConnection: number;
}

export interface EmailConfig {
  /** Unset: messages go to the log in development, and production refuses to start. */
  smtpUrl: string | undefined;
  from: string;
  /** How long a sign-up code works. */
  codeTtlMs: number;
  /** How long a password-setup link works. */
  passwordSetupTtlMs: number;
}

/** Connection teardown (docs/rules.md, rule 10). */
export interface TeardownConfig {
  /** How long a deleted connection waits, restorable, before its identities are removed. */
  graceMs: number;
  /** SSO identities removed per batch (one activity, a few bulk writes). */
  batchSize: number;
  /** Batches before a teardown run continues as new, which keeps each run's history small. */
  batchesPerRun: number;
}

export interface DomainVerificationTimings {
  initialIntervalMs: number;
  maxIntervalMs: number;
  deadlineMs: number;
  reverifyIntervalMs: number;
  graceMs: number;
  /** Checks before a run continues as new, which keeps each run's history small. */
  checksPerRun: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  /**
   * Only the development entry point (`npm run dev`) and the test stack pass this: it lets
   * ADMIN_TOKEN and SESSION_SECRET fall back to public development values and makes NODE_ENV
   * default to `development`. Every other start (api.ts, worker.ts, the image) is production
   * unless NODE_ENV says otherwise, and refuses to start without strong secrets.
   */
  developmentDefaults?: boolean;
}

/** Why a secret may not be used outside development, or undefined when it may. */
function weakSecretReason(value: string): string | undefined {
  if (PUBLIC_SECRETS.has(value)) return `is a published development value; ${GENERATE_HINT}`;
  if (value.length < MIN_SECRET_LENGTH)
    return `must be at least ${MIN_SECRET_LENGTH} characters; ${GENERATE_HINT}`;
  if (new Set(value).size < MIN_SECRET_DISTINCT_CHARACTERS)
    return `is too repetitive to be a random value; ${GENERATE_HINT}`;
  return undefined;
}

/** Problems with the secrets and production settings, each line naming its variable. */
function startupProblems(
  e: z.infer<typeof envSchema>,
  env: Config['env'],
  developmentDefaults: boolean,
): string[] {
  const problems: string[] = [];
  const secrets = [
    ['ADMIN_TOKEN', e.ADMIN_TOKEN],
    ['SESSION_SECRET', e.SESSION_SECRET],
    ...e.SESSION_SECRET_PREVIOUS.map((value) => ['SESSION_SECRET_PREVIOUS', value] as const),
  ] as const;
  for (const [name, value] of secrets) {
    if (value === undefined) {
      if (!developmentDefaults)
        problems.push(`${name}: must be set (only \`npm run dev\` has a default); ${GENERATE_HINT}`);
      continue;
    }
    const reason = developmentDefaults ? undefined : weakSecretReason(value);
    if (reason) problems.push(`${name}: ${reason}`);
  }
  // The token travels as `Authorization: Bearer <token>`, which carries visible ASCII only.
  if (e.ADMIN_TOKEN !== undefined && !/^[\x21-\x7e]{1,512}$/.test(e.ADMIN_TOKEN))
    problems.push('ADMIN_TOKEN: must be 1 to 512 visible ASCII characters (no spaces)');
  if (env === 'production') {
    for (const name of ['PUBLIC_URL', 'MONGODB_URI', 'TEMPORAL_ADDRESS'] as const)
      if (!e[name]) problems.push(`${name}: must be set in production`);
    // IdPs post assertions to it and session cookies must be Secure: plain http is never right here.
    if (e.PUBLIC_URL && !e.PUBLIC_URL.startsWith('https://'))
      problems.push('PUBLIC_URL: must be an https URL in production');
    // Sign-up codes must reach mailboxes; the log fallback is for development only.
    if (!e.SMTP_URL) problems.push('SMTP_URL: must be set in production');
  }
  return problems;
}

/** Reads and validates configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const nodeEnv = e.NODE_ENV ?? (options.developmentDefaults ? 'development' : 'production');
  // NODE_ENV=production wins over the entry point: `npm run dev` in production gets no defaults.
  const developmentDefaults = options.developmentDefaults === true && nodeEnv !== 'production';
  const problems = startupProblems(e, nodeEnv, developmentDefaults);
  if (problems.length)
    throw new ConfigError(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
  const publicUrl = (e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, '');
  return {
    env: nodeEnv,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    adminToken: e.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    sessionSecret: e.SESSION_SECRET ?? DEV_SESSION_SECRET,
    previousSessionSecrets: e.SESSION_SECRET_PREVIOUS,
    mongodbUri: e.MONGODB_URI,
    mongodbDb: e.MONGODB_DB,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    temporalTaskQueue: e.TEMPORAL_TASK_QUEUE,
    dnsServers: e.DNS_SERVERS,
    allowedReturnOrigins: e.ALLOWED_RETURN_ORIGINS.length
      ? e.ALLOWED_RETURN_ORIGINS
      : [new URL(publicUrl).origin],
    desktopMinVersion: e.DESKTOP_MIN_VERSION,
    entraAuthorityHost: e.ENTRA_AUTHORITY_HOST,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    sessionTtlMs: e.SESSION_TTL,
    dnsTimeoutMs: e.DNS_TIMEOUT,
    domainVerification: {
      initialIntervalMs: e.DOMAIN_VERIFICATION_INITIAL_INTERVAL,
      maxIntervalMs: e.DOMAIN_VERIFICATION_MAX_INTERVAL,
      deadlineMs: e.DOMAIN_VERIFICATION_DEADLINE,
      reverifyIntervalMs: e.DOMAIN_REVERIFICATION_INTERVAL,
      graceMs: e.DOMAIN_REVERIFICATION_GRACE,
      checksPerRun: e.DOMAIN_VERIFICATION_CHECKS_PER_RUN,
    },
    saml: { clockSkewMs: e.SAML_CLOCK_SKEW, requestTtlMs: e.SAML_REQUEST_TTL },
    signInWaitMs: e.SIGN_IN_WAIT,
    signInDiagnosticsTtlMs: e.SIGN_IN_DIAGNOSTICS_TTL,
    samlValidationThreads: e.SAML_VALIDATION_THREADS ?? availableParallelism(),
    idpFetchAllowedNetworks: e.IDP_FETCH_ALLOWED_NETWORKS,
    email: {
      smtpUrl: e.SMTP_URL,
      from: e.SMTP_FROM ?? `no-reply@${new URL(publicUrl).hostname}`,
      codeTtlMs: e.EMAIL_CODE_TTL,
      passwordSetupTtlMs: e.PASSWORD_SETUP_TTL,
    },
    breakGlassMax: e.BREAK_GLASS_MAX,
    teardown: {
      graceMs: e.CONNECTOR_DELETE_GRACE,
      batchSize: e.TEARDOWN_BATCH_SIZE,
      batchesPerRun: e.TEARDOWN_BATCHES_PER_RUN,
    },
    certificateCheckIntervalMs: e.CERTIFICATE_CHECK_INTERVAL,
    dataDir: e.DATA_DIR,
    trustProxyHops: e.TRUST_PROXY,
    rateLimits: {
      windowMs: e.RATE_LIMIT_WINDOW,
      perIp: e.RATE_LIMIT_PER_IP,
      perAccount: e.RATE_LIMIT_PER_ACCOUNT,
      perConnection: e.RATE_LIMIT_PER_CONNECTION,
    },
    metricsToken: e.METRICS_TOKEN,
    workerMetrics:
      e.WORKER_METRICS_PORT === undefined
        ? undefined
        : { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT },
  };
}

const serverBinariesSchema = z.object({
  TEMPORAL_CLI_PATH: optionalText,
  FERRETDB_PATH: optionalText,
  MONGOD_PATH: optionalText,
  SSO_CACHE_DIR: optionalText,
});

/** Where the embedded servers (tests, npm run dev) come from; see servers/. */
export interface ServerBinariesConfig {
  temporalCliPath: string | undefined;
  ferretdbPath: string | undefined;
  mongodPath: string | undefined;
  cacheDir: string | undefined;
}

export function loadServerBinariesConfig(env: NodeJS.ProcessEnv = process.env): ServerBinariesConfig {
  const e = serverBinariesSchema.parse(env);
  return {
    temporalCliPath: e.TEMPORAL_CLI_PATH,
    ferretdbPath: e.FERRETDB_PATH,
    mongodPath: e.MONGOD_PATH,
    cacheDir: e.SSO_CACHE_DIR,
  };
}
