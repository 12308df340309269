// createActivities(deps): every activity the worker registers, closed over injected dependencies
// (database, clock, DNS resolver, config) so tests run them against real servers of their own.
import type { Config } from '../config';
import { insecureHttpPolicy } from '../domain/idpUrls';
import type { Collections } from '../db/collections';
import type { Logger } from '../logger';
import type { KeyRing } from '../security/keys';
import { createCertificateActivities } from './certificates';
import { createDnsActivities } from './dns';
import { createDomainActivities } from './domains';
import { createIdentityActivities } from './identities';
import { createIdpMetadataActivities } from './idpMetadata';
import { createNotificationActivities } from './notifications';
import { createOidcDiscoveryActivities } from './oidcDiscovery';
import { createTeardownActivities } from './teardown';
import { createMailer } from '../notifications/mailer';

export interface ActivityDeps {
  config: Config;
  c: Collections;
  clock: () => Date;
  logger: Logger;
  keys: KeyRing;
}

export function createActivities(deps: ActivityDeps) {
  const dns = createDnsActivities({ servers: deps.config.dnsServers, timeoutMs: deps.config.dnsTimeoutMs });
  const idpMetadata = createIdpMetadataActivities({
    timeoutMs: 10_000,
    fetchPolicy: {
      httpsOnly: deps.config.env === 'production',
      allowedNetworks: deps.config.idpFetchAllowedNetworks,
    },
    insecureHttp: insecureHttpPolicy(deps.config.env),
  });
  return {
    ...createDomainActivities({ c: deps.c, clock: deps.clock, lookupTxt: dns.lookupTxt }),
    ...createIdentityActivities({ c: deps.c, clock: deps.clock, userIdKey: deps.keys.current('user-id') }),
    ...createNotificationActivities({
      c: deps.c,
      clock: deps.clock,
      mailer: createMailer({
        smtpUrl: deps.config.email.smtpUrl,
        from: deps.config.email.from,
        messageIdDomain: new URL(deps.config.publicUrl).hostname,
        logMessages: deps.config.env === 'development',
        logger: deps.logger,
      }),
    }),
    ...createTeardownActivities({
      c: deps.c,
      clock: deps.clock,
      setupTokenKey: deps.keys.current('setup-token'),
      passwordSetupTtlMs: deps.config.email.passwordSetupTtlMs,
      appOrigin: deps.config.allowedReturnOrigins[0] ?? new URL(deps.config.publicUrl).origin,
      taskQueue: deps.config.temporalTaskQueue,
    }),
    ...idpMetadata,
    ...createCertificateActivities({
      c: deps.c,
      clock: deps.clock,
      logger: deps.logger,
      taskQueue: deps.config.temporalTaskQueue,
      fetchIdpSettings: (url) => idpMetadata.fetchIdpMetadata({ url }),
    }),
    ...createOidcDiscoveryActivities({
      timeoutMs: 10_000,
      fetchPolicy: {
        httpsOnly: deps.config.env === 'production',
        allowedNetworks: deps.config.idpFetchAllowedNetworks,
      },
      insecureHttp: insecureHttpPolicy(deps.config.env),
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
