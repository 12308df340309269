// Sign-in diagnostics: every SSO sign-in attempt (SAML and OIDC) leaves one record per connection
// with its outcome, and a refusal an admin-facing hint (domain/signInDiagnostics.ts). The sign-in
// services run inside recordSignInAttempt, note what a later hint may need (the connection, the
// attribute names the IdP sent, the email's domain) and hand signInAs the recorder's observer for
// the workflow's outcome. Recording never changes a sign-in's answer: a failed or slow write is
// logged (codes only) and the answer stands.
import type { ConnectorDoc } from '../../db/collections';
import {
  insertSignInDiagnostic,
  listSignInDiagnostics,
  type NewSignInDiagnostic,
  type SignInDiagnosticDoc,
  type SignInOutcome,
} from '../../db/signInDiagnostics';
import { emailDomain } from '../../domain/email';
import { DomainError, type ErrorCode } from '../../domain/errors';
import type { ConnectorId, OrgId, UserId } from '../../domain/ids';
import {
  clipList,
  sanitizeDetails,
  signInHint,
  SignInDiagnosticDetails,
  type SignInFailureDetails,
  type SignInPath,
  type SignInProtocol,
} from '../../domain/signInDiagnostics';
import { SamlValidationError } from '../../sso/saml/errors';
import type { SsoSignInResult } from '../../workflows/shared';
import type { ApiDeps } from '../context';
import type { AfterSignIn } from './afterSignIn';
import { decodePageCursor, encodePageCursor } from '../pageCursor';
import { TIMED_OUT, withinBound } from '../withinBound';
import { timed } from '../../runtime/stepTimings';

/** What a sign-in learned on its way that a refusal's hint may use. */
export interface SignInFacts {
  connector?: ConnectorDoc;
  /** Names of the attributes or claims the IdP sent (values never). */
  attributeNames?: readonly string[];
  /** The mapped email: only its domain is kept. */
  email?: string;
}

export interface SignInRecorder {
  note: (facts: SignInFacts) => void;
  /** signInAs's observer: which way the ssoSignIn workflow let the person in. */
  signedIn: (result: Extract<SsoSignInResult, { userId: string }>) => void;
}

/** A diagnostic write may take this long before the sign-in answers without waiting for it. */
const RECORD_WAIT_MS = 2_000;

function detailsOf(error: unknown): SignInFailureDetails {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; depth += 1) {
    if (current instanceof SamlValidationError || current instanceof SignInDiagnosticDetails)
      return current.details;
    current = current.cause;
  }
  return {};
}

/**
 * Runs one sign-in (`run`) and records how it ended. Attempts at a connection that does not exist
 * are not recorded: there is no organization to show them to. With `after`, a success's record is
 * written alongside the session instead of before it (api/services/afterSignIn.ts).
 */
export async function recordSignInAttempt<T extends { userId: UserId }>(
  deps: ApiDeps,
  connectorId: ConnectorId,
  protocol: SignInProtocol,
  run: (recorder: SignInRecorder) => Promise<T>,
  after?: AfterSignIn,
): Promise<T> {
  const facts: SignInFacts = {};
  let path: SignInPath | null = null;
  const recorder: SignInRecorder = {
    note: (more) => Object.assign(facts, more),
    signedIn: (result) => {
      path = result.outcome === 'provisioned' ? 'jit' : result.outcome;
    },
  };
  let result: T;
  try {
    result = await run(recorder);
  } catch (error) {
    const code: ErrorCode = error instanceof DomainError ? error.code : 'internal_error';
    if (code !== 'not_found') {
      await record(deps, connectorId, facts.connector, {
        protocol,
        outcome: 'failed',
        path: null,
        userId: null,
        code,
        ...failureHint(code, detailsOf(error), facts),
      });
    }
    throw error;
  }
  const written = record(deps, connectorId, facts.connector, {
    protocol,
    outcome: 'succeeded',
    path,
    userId: result.userId,
    code: null,
    hint: null,
    details: null,
  });
  if (after) after.defer(written);
  else await written;
  return result;
}

function failureHint(
  code: ErrorCode,
  fromError: SignInFailureDetails,
  facts: SignInFacts,
): { hint: string; details: SignInFailureDetails | null } {
  const details: SignInFailureDetails = { ...fromError };
  if (code === 'email_missing' && facts.attributeNames)
    details.attributeNames = clipList(facts.attributeNames);
  if (code === 'email_domain_not_allowed' && facts.email !== undefined) {
    const domain = emailDomain(facts.email);
    if (domain !== undefined) details.emailDomain = domain;
    if (facts.connector) details.allowedDomains = facts.connector.domains;
  }
  const clean = sanitizeDetails(details);
  return {
    hint: signInHint(code, clean),
    details: Object.keys(clean).length > 0 ? clean : null,
  };
}

type RecordFields = Omit<NewSignInDiagnostic, 'orgId' | 'connectorId'>;

async function record(
  deps: ApiDeps,
  connectorId: ConnectorId,
  known: ConnectorDoc | undefined,
  fields: RecordFields,
): Promise<void> {
  const write = (async () => {
    const connector =
      known ?? (await deps.c.connectors.findOne({ _id: connectorId }, { projection: { orgId: 1 } }));
    if (!connector) return;
    await timed('db: sign-in diagnostic write', () =>
      insertSignInDiagnostic(
        deps.c,
        { orgId: connector.orgId, connectorId, ...fields },
        deps.clock(),
        deps.config.signInDiagnosticsTtlMs,
      ),
    );
  })();
  try {
    if ((await withinBound(write, RECORD_WAIT_MS)) === TIMED_OUT) {
      deps.logger.warn({ connectorId, outcome: fields.outcome }, 'sign-in diagnostic write is slow');
      write.catch((error: unknown) => logWriteFailure(deps, connectorId, fields.outcome, error));
    }
  } catch (error) {
    logWriteFailure(deps, connectorId, fields.outcome, error);
  }
}

// The error's name and code only: driver messages may quote document values.
function logWriteFailure(deps: ApiDeps, connectorId: ConnectorId, outcome: SignInOutcome, error: unknown) {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  deps.logger.error(
    {
      connectorId,
      outcome,
      error: error instanceof Error ? error.name : 'unknown',
      ...(typeof code === 'string' || typeof code === 'number' ? { errorCode: code } : {}),
    },
    'sign-in diagnostic not recorded',
  );
}

// Reading: newest first, in pages with an opaque cursor (api/pageCursor.ts).

export interface SignInAttemptPage {
  attempts: SignInDiagnosticDoc[];
  nextCursor: string | null;
}

export async function signInAttemptPage(
  deps: ApiDeps,
  orgId: OrgId,
  connectorId: ConnectorId,
  query: { outcome?: SignInOutcome; limit: number; cursor?: string },
): Promise<SignInAttemptPage> {
  const connector = await deps.c.connectors.findOne({ _id: connectorId, orgId });
  if (!connector) throw new DomainError('not_found', 'Connection not found');
  // One more than asked says whether another page exists.
  const docs = await listSignInDiagnostics(
    deps.c,
    {
      orgId,
      connectorId,
      ...(query.outcome ? { outcome: query.outcome } : {}),
      ...(query.cursor === undefined ? {} : { after: decodePageCursor(query.cursor) }),
      limit: query.limit + 1,
    },
    deps.clock(),
  );
  const attempts = docs.slice(0, query.limit);
  const last = attempts[attempts.length - 1];
  return { attempts, nextCursor: docs.length > query.limit && last ? encodePageCursor(last) : null };
}
