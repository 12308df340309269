// Prometheus metrics of one API instance (prom-client). Each app gets its own registry: tests run
// several apps in one process, and the global default registry would refuse the second set of
// names. Labels carry protocols, codes, workflow types and route patterns only: never an email,
// an IP, an ID or a URL, which would both leak personal data and grow without bound.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type SignInProtocol = 'saml' | 'oidc' | 'password' | 'email_code';

export interface ApiMetrics {
  registry: Registry;
  /** Every sign-in's outcome: `success`, or the refusal's error code. */
  signIns: Counter<'protocol' | 'outcome'>;
  /** Time from the IdP's answer arriving (SAML ACS, OIDC callback) to our answer. */
  acsDuration: Histogram<'protocol' | 'outcome'>;
  workflowStarts: Counter<'workflow'>;
  /** Bounded waits on a run that gave up (the client got "try again shortly"). */
  workflowWaitTimeouts: Counter<'workflow'>;
  rateLimited: Counter<'limit' | 'route'>;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    signIns: new Counter({
      name: 'sso_sign_ins_total',
      help: 'Sign-in outcomes by protocol: success or the error code',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    }),
    acsDuration: new Histogram({
      name: 'sso_acs_duration_seconds',
      help: 'Time to answer an IdP callback (SAML ACS, OIDC callback), by protocol and outcome',
      labelNames: ['protocol', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    workflowStarts: new Counter({
      name: 'sso_workflow_starts_total',
      help: 'Workflow runs the API started (or signalled with start), by workflow type',
      labelNames: ['workflow'],
      registers: [registry],
    }),
    workflowWaitTimeouts: new Counter({
      name: 'sso_workflow_wait_timeouts_total',
      help: 'Bounded waits on a workflow that ran out (the client was told to try again), by type',
      labelNames: ['workflow'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'sso_rate_limited_total',
      help: 'Requests refused with 429 rate_limited, by limit (ip, account, connection) and route',
      labelNames: ['limit', 'route'],
      registers: [registry],
    }),
  };
}
