// docker compose cannot run on the build machines, so its wiring is checked against config.ts.
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
  ADMIN_TOKEN: 'operator-token',
  SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
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
    expect(services.api?.ports).toContain(`${config.port}:${config.port}`);
    expect(services.api?.command).toEqual(['npx', 'tsx', 'api.ts']);
    expect(services.worker?.command).toEqual(['npx', 'tsx', 'worker.ts']);
  });

  it('points the Web UI at the Temporal server and registers every search attribute', () => {
    expect(services['temporal-ui']?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    const setup = JSON.stringify(services['temporal-setup']?.command);
    for (const { name } of SEARCH_ATTRIBUTES) expect(setup).toContain(name);
  });
});
