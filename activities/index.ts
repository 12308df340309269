// createActivities(deps): every activity the worker registers, closed over injected dependencies
// (database, clock, DNS resolver, config) so tests run them against real servers of their own.
import type { Config } from '../config';
import type { Collections } from '../db/collections';
import type { Logger } from '../logger';
import { createDnsActivities } from './dns';
import { createDomainActivities } from './domains';

export interface ActivityDeps {
  config: Config;
  c: Collections;
  clock: () => Date;
  logger: Logger;
}

// eslint-disable-next-line @typescript-eslint/explicit-module-boundary-types
export function createActivities(deps: ActivityDeps) {
  const dns = createDnsActivities({ servers: deps.config.dnsServers, timeoutMs: deps.config.dnsTimeoutMs });
  return {
    ...createDomainActivities({ c: deps.c, clock: deps.clock, lookupTxt: dns.lookupTxt }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
