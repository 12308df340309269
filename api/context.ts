import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type Koa from 'koa';
import type { Config } from '../config';
import type { Collections } from '../db/collections';
import type { OrgId, UserId } from '../domain/ids';
import type { Logger } from '../logger';
import type { KeyRing } from '../security/keys';
import type { ApiMetrics } from './metrics';
import type { SamlValidator } from '../sso/saml/validationPool';

/** Everything the HTTP layer needs, injected so tests build an app over their own servers. */
export interface ApiDeps {
  config: Config;
  db: Db;
  c: Collections;
  temporal: Client;
  logger: Logger;
  clock: () => Date;
  /** Keys derived from SESSION_SECRET, one per purpose (sessions, API keys, relay state...). */
  keys: KeyRing;
  /** This instance's Prometheus metrics; createApp makes them when the caller has none. */
  metrics?: ApiMetrics;
  /** Where SAML responses are validated: worker threads (runApi) or, when absent, this thread. */
  samlValidator?: SamlValidator;
}

export type Principal = { kind: 'operator' } | { kind: 'org-key'; orgId: OrgId };

export interface ApiState {
  requestId: string;
  principal?: Principal;
  userId?: UserId;
}

export type ApiContext = Koa.ParameterizedContext<ApiState>;
