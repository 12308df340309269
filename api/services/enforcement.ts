// What SSO enforcement does around sign-in (docs/rules.md, rules 7 and 9): the facts about an
// email's connection for the sign-in table, the errors a refusal becomes, audit events for
// enforcement changes and refused sign-ins, and ending the non-SSO sessions of a domain's users
// when enforcement starts.
import { randomUUID } from 'node:crypto';
import { recordAuditEvent } from '../../db/audit';
import type { ConnectorDoc, UserDoc } from '../../db/collections';
import { findBreakGlass } from '../../db/breakGlass';
import { findDomainConnection } from '../../db/connectors';
import { revokeNonSsoSessions } from '../../db/sessions';
import { desktopUpgradeReason, isDesktopClientTooOld } from '../../domain/clientVersion';
import { DomainError } from '../../domain/errors';
import type { OrgId } from '../../domain/ids';
import { decideSignIn, refusalError, type SignInDecision, type SignInFacts } from '../../domain/signInPolicy';
import type { ApiDeps } from '../context';
import { ssoRequired } from './passwordSignIn';

/** Users whose sessions are revoked per database round trip. */
const REVOKE_BATCH = 500;

export interface DomainConnectionFacts {
  connector: ConnectorDoc | null;
  /** For SignInFacts.connection; undefined when the domain is tied to no connection. */
  connection: SignInFacts['connection'];
  /** Whether enforcement holds for this domain right now. */
  enforcing: boolean;
}

/** The email domain's connection as the sign-in table sees it. */
export async function domainConnectionFacts(
  deps: ApiDeps,
  emailDomain: string,
): Promise<DomainConnectionFacts> {
  const found = await findDomainConnection(deps.c, emailDomain);
  if (!found) return { connector: null, connection: undefined, enforcing: false };
  const { connector } = found;
  // A connection of an organization off the Business plan enforces nothing (rule 1).
  const connection = {
    connectorId: connector._id,
    enforced: connector.enforced && found.businessPlan,
    status: connector.status,
    domainVerified: found.domainVerified,
  };
  const enforcing = connection.enforced && connection.status === 'active' && connection.domainVerified;
  return { connector, connection, enforcing };
}

/**
 * Whether `user` is a break-glass account of the organization enforcing its domain. Only an
 * account with confirmed TOTP counts (the table checks that too), so no lookup is spent otherwise.
 */
export async function isExempt(
  deps: ApiDeps,
  facts: DomainConnectionFacts,
  user: UserDoc | null,
): Promise<boolean> {
  if (!facts.enforcing || !facts.connector || !user || user.totpSecret === null) return false;
  return (await findBreakGlass(deps.c, facts.connector.orgId, user._id)) !== null;
}

/** 426 with the minimum version; a version header nobody can read is told so in the message. */
export function clientUpgradeRequired(deps: ApiDeps, clientVersion: string | undefined): DomainError {
  const reason = desktopUpgradeReason(clientVersion, deps.config.desktopMinVersion);
  return new DomainError(
    'client_upgrade_required',
    reason === 'unreadable'
      ? `The X-Client-Version header must read desktop/<version>, e.g. desktop/${deps.config.desktopMinVersion}; upgrade the desktop app`
      : undefined,
    { minimumVersion: deps.config.desktopMinVersion },
  );
}

export function isClientTooOld(deps: ApiDeps, clientVersion: string | undefined): boolean {
  return isDesktopClientTooOld(clientVersion, deps.config.desktopMinVersion);
}

/** The error a refusal of the sign-in table becomes. */
export function signInRefusalError(
  deps: ApiDeps,
  decision: Exclude<SignInDecision, { kind: 'allow' }>,
  clientVersion: string | undefined,
): DomainError {
  if (decision.code === 'sso_required') return ssoRequired(deps, decision.connectorId);
  if (decision.code === 'client_upgrade_required') return clientUpgradeRequired(deps, clientVersion);
  // Tells the client where a new setup link comes from (docs/rules.md, rule 10).
  if (decision.code === 'password_setup_required')
    return new DomainError('password_setup_required', undefined, {
      setupStart: '/v1/auth/password/setup/start',
    });
  return refusalError(decision);
}

/** Audit events are written by the API once per request: a random ID is enough. */
export async function audit(
  deps: ApiDeps,
  event: { type: string; orgId: OrgId | null; subjectId: string | null; data?: Record<string, unknown> },
): Promise<void> {
  await recordAuditEvent(deps.c, { eventId: `evt_${randomUUID()}`, ...event }, deps.clock());
}

/**
 * Records how a non-SSO sign-in on a domain with a connection ended, when enforcement had a say:
 * refused by it, or let through only as a break-glass account. IDs and codes only, never emails.
 */
export async function auditEnforcedSignIn(
  deps: ApiDeps,
  facts: DomainConnectionFacts,
  method: 'password' | 'email_code',
  user: UserDoc | null,
  decision: SignInDecision,
): Promise<void> {
  if (!facts.connector) return;
  const base = { orgId: facts.connector.orgId, subjectId: user?._id ?? null };
  const data = { connectorId: facts.connector._id, method };
  if (decision.kind === 'allow' && decision.exempted)
    await audit(deps, { type: 'sign_in.break_glass', ...base, data: { ...data, amr: decision.amr } });
  else if (
    decision.kind === 'refuse' &&
    (decision.code === 'sso_required' || decision.code === 'client_upgrade_required')
  )
    await audit(deps, { type: 'sign_in.refused', ...base, data: { ...data, code: decision.code } });
}

/**
 * SSO login and ACS: a connection being deleted refuses, and an enforced one turns away desktop
 * clients below the minimum version (rule 9), through the same table as every other method.
 */
export function assertSsoSignInAllowed(
  deps: ApiDeps,
  connector: ConnectorDoc,
  clientVersion: string | undefined,
): void {
  const decision = decideSignIn({
    method: 'sso',
    connection: {
      connectorId: connector._id,
      enforced: connector.enforced,
      status: connector.status,
      domainVerified: true,
    },
    clientTooOld: isClientTooOld(deps, clientVersion),
    credentialValid: true,
  });
  if (decision.kind === 'refuse') throw signInRefusalError(deps, decision, clientVersion);
}

/**
 * Ends the non-SSO sessions of every user whose email is in the connection's domains; their SSO
 * sessions stay. Walks the users in batches, so a domain with 100,000 accounts is no single query.
 */
export async function revokeDomainSessions(deps: ApiDeps, connector: ConnectorDoc): Promise<number> {
  let revoked = 0;
  for (const domain of connector.domains) {
    const pattern = `@${domain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
    const cursor = deps.c.users.find({ email: { $regex: pattern } }, { projection: { _id: 1 } });
    let batch: UserDoc['_id'][] = [];
    for await (const user of cursor) {
      batch.push(user._id);
      if (batch.length === REVOKE_BATCH) {
        revoked += await revokeNonSsoSessions(deps.c, batch);
        batch = [];
      }
    }
    revoked += await revokeNonSsoSessions(deps.c, batch);
  }
  return revoked;
}

/**
 * After a connection was created or changed: when enforcement starts, the non-SSO sessions of
 * its domains end (rule 7); starting and ending enforcement are both audited.
 */
export async function onEnforcementChange(
  deps: ApiDeps,
  before: Pick<ConnectorDoc, 'enforced'> | null,
  after: ConnectorDoc,
): Promise<void> {
  const wasEnforced = before?.enforced ?? false;
  if (after.enforced === wasEnforced) return;
  const base = { orgId: after.orgId, subjectId: after._id };
  if (!after.enforced) {
    await audit(deps, { type: 'connector.enforcement_ended', ...base });
    return;
  }
  const revokedSessions = await revokeDomainSessions(deps, after);
  await audit(deps, { type: 'connector.enforcement_started', ...base, data: { revokedSessions } });
}
