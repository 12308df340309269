// The daily IdP certificate check (workflows/certificateCheck.ts): a connection created from a
// metadata URL first takes the certificates the IdP lists now, then every certificate close to its
// end gets its notice (30, 14, 7 days before, and once expired): an email to each of the org's
// administrators and an audit event. Every notice has IDs derived from the connection, the
// certificate's fingerprint and the threshold, so however often the check runs or retries, each
// is recorded and sent once.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { recordAuditEvent } from '../db/audit';
import type { Collections, ConnectorDoc } from '../db/collections';
import { listSamlConnectorIds, setMetadataCertificates } from '../db/connectors';
import { listMembersWithRoles } from '../db/memberships';
import {
  EXPIRY_NOTICE_ROLES,
  certificateChange,
  daysLeft,
  dueExpiryNotice,
  hasSuccessor,
  type CertificateFacts,
  type ExpiryNotice,
} from '../domain/certificateExpiry';
import type { ConnectorId } from '../domain/ids';
import type { Logger } from '../logger';
import { certificateExpiryMessage } from '../notifications/messages';
import { enqueueEmail } from '../notifications/outbox';
import { certificateFacts } from '../sso/certificates';
import type { IdpSettings } from './idpMetadata';

export interface CertificateActivityDeps {
  c: Collections;
  clock: () => Date;
  logger: Logger;
  taskQueue: string;
  /** Reads a metadata URL through the SSRF-safe fetch; throws when it gives no usable document. */
  fetchIdpSettings: (url: string) => Promise<IdpSettings>;
}

export type MetadataRefresh = 'none' | 'unchanged' | 'updated' | 'failed' | 'entity_mismatch';

export interface ConnectorCertificateCheck {
  /** False when the connection is gone, being deleted, or not SAML: nothing was looked at. */
  checked: boolean;
  refresh: MetadataRefresh;
  notices: number;
}

/** Enough for any organization's administrators; a notice is not a mailing list. */
const MAX_RECIPIENTS = 100;

/** A fingerprint as it goes into IDs: lower-case hex without separators. */
function fingerprintKey(sha256: string): string {
  return sha256.replace(/:/g, '').toLowerCase();
}

function digestOf(fingerprints: readonly string[]): string {
  return createHash('sha256')
    .update([...fingerprints].sort().join(','))
    .digest('hex')
    .slice(0, 16);
}

function factsOf(certificates: readonly string[]): CertificateFacts[] {
  return certificates.flatMap((pem) => {
    const facts = certificateFacts(pem);
    return facts ? [facts] : [];
  });
}

export function expiryAuditEventId(connectorId: string, sha256: string, notice: ExpiryNotice): string {
  return `cert-expiry:${connectorId}:${fingerprintKey(sha256)}:${notice}`;
}

export function createCertificateActivities(deps: CertificateActivityDeps) {
  const { c, clock, logger } = deps;

  /**
   * Takes the certificates the IdP lists now: a certificate stays while it is listed, a new one is
   * added, one no longer listed is dropped. A document that cannot be read, lists none, or
   * describes another IdP (another entity ID) changes nothing. The audit event is written before
   * the change under an ID derived from both sets, so a retry after a crash in between neither
   * loses nor doubles it.
   */
  async function refreshFromMetadataUrl(
    connector: ConnectorDoc & { saml: NonNullable<ConnectorDoc['saml']> },
    metadataUrl: string,
  ): Promise<{ refresh: MetadataRefresh; certificates: string[] }> {
    const current = connector.saml.certificates;
    let listed: IdpSettings;
    try {
      listed = await deps.fetchIdpSettings(metadataUrl);
    } catch (error) {
      // The fetch says the same for every unreachable case (no network mapping); the code is enough.
      const reason = error instanceof ApplicationFailure ? error.type : 'error';
      logger.warn({ connectorId: connector._id, reason }, 'IdP metadata refresh failed; certificates kept');
      return { refresh: 'failed', certificates: current };
    }
    if (listed.entityId !== connector.saml.entityId) {
      logger.warn({ connectorId: connector._id }, 'IdP metadata names another entity ID; certificates kept');
      return { refresh: 'entity_mismatch', certificates: current };
    }
    const before = factsOf(current).map((facts) => facts.sha256);
    const after = factsOf(listed.certificates).map((facts) => facts.sha256);
    const change = certificateChange(before, after);
    if (change.added.length === 0 && change.removed.length === 0)
      return { refresh: 'unchanged', certificates: current };
    const now = clock();
    await recordAuditEvent(
      c,
      {
        eventId: `cert-refresh:${connector._id}:${digestOf(before)}:${digestOf(after)}`,
        type: 'connector.certificates_refreshed',
        orgId: connector.orgId,
        subjectId: connector._id,
        data: { connectorId: connector._id, added: change.added, removed: change.removed },
      },
      now,
    );
    const applied = await setMetadataCertificates(c, connector._id, metadataUrl, listed.certificates, now);
    return applied
      ? { refresh: 'updated', certificates: listed.certificates }
      : { refresh: 'unchanged', certificates: current };
  }

  /**
   * One notice: the emails first, then the audit event, which marks the notice as done. A notice
   * already recorded is skipped whole, so a notice due for a week does not start a delivery a day.
   */
  async function sendNotice(
    connector: ConnectorDoc & { saml: NonNullable<ConnectorDoc['saml']> },
    certificate: CertificateFacts,
    all: readonly CertificateFacts[],
    notice: ExpiryNotice,
  ): Promise<void> {
    const eventId = expiryAuditEventId(connector._id, certificate.sha256, notice);
    if (await c.auditEvents.findOne({ _id: eventId }, { projection: { _id: 1 } })) return;
    const now = clock();
    const left = daysLeft(certificate.notAfter, now);
    const admins = await listMembersWithRoles(c, connector.orgId, EXPIRY_NOTICE_ROLES, MAX_RECIPIENTS);
    const queue = {
      c,
      temporal: Context.current().client,
      config: { temporalTaskQueue: deps.taskQueue },
      clock,
    };
    for (const admin of admins) {
      await enqueueEmail(
        queue,
        certificateExpiryMessage({
          connectorId: connector._id,
          connectorName: connector.name,
          sha256: certificate.sha256,
          notAfter: certificate.notAfter,
          daysLeft: left,
          notice,
          metadataUrl: connector.saml.metadataUrl,
          hasSuccessor: hasSuccessor(certificate, all),
          userId: admin.userId,
          to: admin.email,
          now,
        }),
      );
    }
    if (admins.length === 0)
      logger.warn({ connectorId: connector._id, notice }, 'certificate expiry notice has no admin to email');
    await recordAuditEvent(
      c,
      {
        eventId,
        type: notice === 'expired' ? 'connector.certificate_expired' : 'connector.certificate_expiring',
        orgId: connector.orgId,
        subjectId: connector._id,
        data: {
          connectorId: connector._id,
          sha256: certificate.sha256,
          notAfter: certificate.notAfter.toISOString(),
          daysLeft: left,
          threshold: notice,
          notified: admins.length,
        },
      },
      now,
    );
  }

  return {
    /** A page of active SAML connection IDs after `after`; `next` is null on the last page. */
    async listCertificateConnectors(input: {
      after: string | null;
      limit: number;
    }): Promise<{ connectorIds: string[]; next: string | null }> {
      const ids = await listSamlConnectorIds(c, input.after, input.limit);
      return { connectorIds: ids, next: ids.length === input.limit ? (ids.at(-1) ?? null) : null };
    },

    /** Refreshes one connection's certificates from its metadata URL (if any), then sends the notices due. */
    async checkConnectorCertificates(input: { connectorId: string }): Promise<ConnectorCertificateCheck> {
      const found = await c.connectors.findOne({
        _id: input.connectorId as ConnectorId,
        type: 'saml',
        status: 'active',
      });
      if (!found?.saml) return { checked: false, refresh: 'none', notices: 0 };
      const connector = { ...found, saml: found.saml };
      let refresh: MetadataRefresh = 'none';
      let certificates = connector.saml.certificates;
      if (connector.saml.metadataUrl) {
        ({ refresh, certificates } = await refreshFromMetadataUrl(connector, connector.saml.metadataUrl));
        connector.saml = { ...connector.saml, certificates };
      }
      const all = factsOf(certificates);
      const now = clock();
      let notices = 0;
      for (const certificate of all) {
        const notice = dueExpiryNotice(certificate.notAfter, now);
        if (notice === null) continue;
        await sendNotice(connector, certificate, all, notice);
        notices++;
      }
      return { checked: true, refresh, notices };
    },
  };
}
