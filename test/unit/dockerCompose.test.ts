// docker compose cannot run on the build machines, so its wiring is checked against config.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../config';
import { SEARCH_ATTRIBUTES } from '../../workflows/searchAttributes';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number>;
  ports?: string[];
  depends_on?: Record<string, unknown>;
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), {
  merge: true,
}) as {
  services: Record<string, Service>;
};
const services = compose.services;

/** What an operator exports for the variables compose requires (${VAR:?message}). */
const OPERATOR_VALUES: Record<string, string> = {
  PUBLIC_URL: 'https://sso.example.com',
  ALLOWED_RETURN_ORIGINS: 'https://app.example.com',
  ADMIN_TOKEN: randomBytes(32).toString('base64url'),
  SESSION_SECRET: randomBytes(32).toString('base64url'),
  SMTP_URL: 'smtps://user:password@mail.example.com:465',
};

/** Substitutes ${VAR:-default} and ${VAR:?message} as compose would with OPERATOR_VALUES exported. */
function resolved(environment: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      String(value).replace(
        /\$\{([A-Z_]+)(?::-([^}]*)|:\?[^}]*)\}/g,
        (_, variable: string, fallback?: string) => {
          const given = OPERATOR_VALUES[variable] ?? fallback;
          if (given === undefined)
            throw new Error(`docker-compose.yml requires ${variable}, which this test does not set`);
          return given;
        },
      ),
    ]),
  );
}

describe('docker-compose.yml', () => {
  it('has the production services', () => {
    for (const name of ['temporal', 'temporal-db', 'temporal-ui', 'mongodb', 'api', 'worker'])
      expect(services[name]).toBeDefined();
  });

  it.each(['api', 'worker'])(
    'gives %s only variables the config module knows, and a valid production config',
    (name) => {
      const environment = services[name]?.environment ?? {};
      for (const variable of Object.keys(environment)) expect(CONFIG_VARIABLES).toContain(variable);
      const config = loadConfig(resolved(environment));
      expect(config.env).toBe('production');
      expect(config.temporalAddress).toMatch(/^temporal:7233$/);
      expect(config.mongodbUri).toMatch(/^mongodb:\/\/mongodb:27017/);
      for (const dependency of Object.keys(services[name]?.depends_on ?? {}))
        expect(services[dependency]).toBeDefined();
    },
  );

  it('publishes the API on the port it listens on, on all interfaces inside its container', () => {
    const config = loadConfig(resolved(services.api?.environment ?? {}));
    expect(config.host).toBe('0.0.0.0');
    expect(services.api?.ports).toEqual([`${config.port}:${config.port}`]);
  });

  it('runs the built JavaScript with node, not TypeScript through tsx', () => {
    expect(services.api?.command).toEqual(['node', 'dist/api.js']);
    expect(services.worker?.command).toEqual(['node', 'dist/worker.js']);
  });

  it('publishes nothing else on a public interface: no Temporal frontend, the Web UI on loopback only', () => {
    // The Temporal frontend has no authentication here: whoever reaches it can start workflows.
    for (const name of ['temporal', 'temporal-db', 'mongodb', 'worker', 'temporal-setup'])
      expect(services[name]?.ports, name).toBeUndefined();
    for (const mapping of services['temporal-ui']?.ports ?? [])
      expect(mapping).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('points the Web UI at the Temporal server and registers every search attribute', () => {
    expect(services['temporal-ui']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const setup = JSON.stringify(services['temporal-setup']?.command);
    for (const { name } of SEARCH_ATTRIBUTES) expect(setup).toContain(name);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1) ?? '';

  it('builds in one stage and runs production dependencies and dist/ only in the last', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(/^RUN npm run build$/m);
    expect(runtime).toMatch(/^ENV NODE_ENV=production$/m);
    expect(runtime).toMatch(/^RUN npm ci --omit=dev/m);
    expect(runtime).toMatch(/^COPY --from=\S+ \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^CMD \["node", "dist\/api\.js"\]$/m);
    expect(runtime).not.toMatch(/tsx|COPY \. /);
  });
});

describe('package.json', () => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    scripts: Record<string, string>;
  };

  it('keeps test and build tooling out of the production dependencies', () => {
    for (const name of ['@temporalio/testing', 'tsx', 'esbuild', 'vitest', 'typescript'])
      expect(manifest.dependencies[name], name).toBeUndefined();
  });

  it('has the build the image runs', () => {
    expect(manifest.scripts.build).toBeDefined();
  });
});
