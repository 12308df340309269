// Sign-in diagnostics for the IT admin: every SSO sign-in attempt at one connection, newest
// first, with its outcome and, for refusals, a hint about the IdP's configuration
// (api/services/signInDiagnostics.ts).
import Router from '@koa/router';
import type { z } from 'zod';
import type { SignInDiagnosticDoc } from '../../db/signInDiagnostics';
import type { ConnectorId } from '../../domain/ids';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { signInAttemptsQuery, signInAttemptsResponse } from '../schemas';
import { signInAttemptPage } from '../services/signInDiagnostics';
import { parse } from '../validate';
import { connectorParams } from './connectors';
import { loadOrg } from './orgs';

type AttemptView = z.output<typeof signInAttemptsResponse>['attempts'][number];

function attemptView(doc: SignInDiagnosticDoc): AttemptView {
  return {
    id: doc._id,
    connectorId: doc.connectorId,
    protocol: doc.protocol,
    outcome: doc.outcome,
    path: doc.path,
    userId: doc.userId,
    code: doc.code,
    hint: doc.hint,
    details: doc.details,
    at: doc.at.toISOString(),
  };
}

export function signInDiagnosticRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  const path = '/v1/orgs/:orgId/connectors/:connectorId/sign-in-attempts';
  router.use(path, requireOrgAccess(deps));

  router.get(path, async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { connectorId } = parse(connectorParams, ctx.params);
    const { outcome, limit, cursor } = parse(signInAttemptsQuery, ctx.query);
    const page = await signInAttemptPage(deps, org._id, connectorId as ConnectorId, {
      ...(outcome ? { outcome } : {}),
      limit,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const view: z.output<typeof signInAttemptsResponse> = {
      attempts: page.attempts.map(attemptView),
      nextCursor: page.nextCursor,
    };
    ctx.body = view;
  });

  return router;
}
