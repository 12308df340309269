// Every sign-in's outcome, recorded at the edge of the routes that sign people in (password, email
// code, SAML ACS, OIDC callback): a Prometheus count by protocol and code, the callback latency,
// and an audit event for the organization concerned. The sign-in services stay as they are; the
// per-attempt diagnostics for IT admins are a separate record (sign-in attempts).
//
// Audit events hold IDs and codes only: the user's ID on success, never the email that was tried,
// an IdP attribute or a token.
import { randomUUID } from 'node:crypto';
import { recordAuditEvent } from '../../db/audit';
import { DomainError } from '../../domain/errors';
import type { ConnectorId, OrgId } from '../../domain/ids';
import type { ApiDeps } from '../context';
import type { AfterSignIn } from './afterSignIn';
import type { SignInProtocol } from '../metrics';
import { timed } from '../../runtime/stepTimings';

export interface SignInEdge {
  protocol: SignInProtocol;
  /** SSO: the connection the answer came through. */
  connectorId?: ConnectorId;
  /** Password and email code: the email's domain, whose verifying organization sees the event. */
  emailDomain?: string;
}

const CALLBACKS: ReadonlySet<SignInProtocol> = new Set(['saml', 'oidc']);

/** The organization an outcome belongs to: the connection's, or the one that verified the domain. */
async function orgOf(deps: ApiDeps, edge: SignInEdge): Promise<OrgId | null> {
  if (edge.connectorId) {
    const connector = await deps.c.connectors.findOne(
      { _id: edge.connectorId },
      { projection: { orgId: 1 } },
    );
    return connector?.orgId ?? null;
  }
  if (edge.emailDomain) {
    const claim = await deps.c.domainClaims.findOne({ _id: edge.emailDomain }, { projection: { orgId: 1 } });
    return claim?.orgId ?? null;
  }
  return null;
}

async function record(
  deps: ApiDeps,
  edge: SignInEdge,
  outcome: string,
  userId: string | null,
  knownOrgId: OrgId | undefined,
): Promise<void> {
  const orgId = knownOrgId ?? (await orgOf(deps, edge));
  // An unknown connection ID is somebody probing: nothing to audit, no organization to tell.
  if (edge.connectorId && !orgId) return;
  await timed('db: sign-in audit event', () =>
    recordAuditEvent(
      deps.c,
      {
        eventId: `evt_${randomUUID().replaceAll('-', '')}`,
        type: outcome === 'success' ? 'sign_in.succeeded' : 'sign_in.failed',
        orgId,
        subjectId: userId ?? edge.connectorId ?? null,
        actor: userId ? `user:${userId}` : 'anonymous',
        data: {
          protocol: edge.protocol,
          ...(outcome === 'success' ? {} : { code: outcome }),
          ...(edge.connectorId ? { connectorId: edge.connectorId } : {}),
          ...(userId ? { userId } : {}),
        },
      },
      deps.clock(),
    ),
  );
}

/**
 * Runs one sign-in and records how it ended; the result or the refusal passes through unchanged.
 * `userIdOf` names who signed in; `orgIdOf`, when the sign-in knows it (SSO), saves reading the
 * organization again on the sign-in's path. With `after`, a success's event is written alongside the
 * session instead of before it (api/services/afterSignIn.ts).
 */
export async function withSignInOutcome<T>(
  deps: ApiDeps,
  edge: SignInEdge,
  signIn: () => Promise<T>,
  userIdOf: (result: T) => string,
  orgIdOf?: (result: T) => OrgId,
  after?: AfterSignIn,
): Promise<T> {
  const started = performance.now();
  let outcome = 'success';
  let userId: string | null = null;
  let orgId: OrgId | undefined;
  try {
    const result = await signIn();
    userId = userIdOf(result);
    orgId = orgIdOf?.(result);
    return result;
  } catch (error) {
    outcome = error instanceof DomainError ? error.code : 'internal_error';
    throw error;
  } finally {
    deps.metrics?.signIns.inc({ protocol: edge.protocol, outcome });
    if (CALLBACKS.has(edge.protocol))
      deps.metrics?.acsDuration.observe(
        { protocol: edge.protocol, outcome },
        (performance.now() - started) / 1000,
      );
    const written = record(deps, edge, outcome, userId, orgId).catch((error: unknown) =>
      // A lost audit line must not turn a finished sign-in into an error page.
      deps.logger.error({ errorName: (error as Error)?.name }, 'sign-in audit event not recorded'),
    );
    if (after && outcome === 'success') after.defer(written);
    else await written;
  }
}
