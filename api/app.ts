// The Koa app factory. It never listens: entry points and tests decide where it is served.
import type Router from '@koa/router';
import Koa from 'koa';
import type { ApiDeps, ApiState } from './context';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { accessLog } from './middleware/accessLog';
import { errorHandler } from './middleware/errors';
import { originCheck } from './middleware/originCheck';
import { requestBodies } from './middleware/requestBody';
import { requestId } from './middleware/requestId';
import { auditEventRoutes } from './routes/auditEvents';
import { authRoutes } from './routes/auth';
import { breakGlassRoutes } from './routes/breakGlass';
import { connectorRoutes } from './routes/connectors';
import { domainRoutes } from './routes/domains';
import { healthRoutes } from './routes/health';
import { meRoutes } from './routes/me';
import { metricsRoutes } from './routes/metrics';
import { mfaRoutes } from './routes/mfa';
import { orgRoutes } from './routes/orgs';
import { provisioningRoutes } from './routes/provisioning';
import { signInDiagnosticRoutes } from './routes/signInDiagnostics';
import { ssoRoutes } from './routes/sso';
import { userRoutes } from './routes/users';

export function createApp(apiDeps: ApiDeps): Koa<ApiState> {
  // One registry per app: metrics count what this instance served.
  const deps = { ...apiDeps, metrics: apiDeps.metrics ?? createApiMetrics() };
  // X-Forwarded-For is read only from as many proxies as TRUST_PROXY names (see config.ts).
  const hops = deps.config.trustProxyHops;
  const app = new Koa<ApiState>({ proxy: hops > 0, maxIpsCount: hops });
  // Koa's own error printing would write stacks to stderr; errorHandler already answered.
  app.silent = true;
  app.use(requestId());
  app.use(accessLog(deps.logger));
  app.use(errorHandler(deps.logger));
  const httpsPublicUrl = deps.config.publicUrl.startsWith('https://');
  app.use(async (ctx, next) => {
    // TLS ends at the proxy in front of us: the public URL, not this hop, says whether browsers
    // use https, and so whether Secure cookies may be sent.
    if (httpsPublicUrl) ctx.cookies.secure = true;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    // Nothing here is meant to be framed, and sign-in URLs must not leak through Referer.
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    await next();
  });
  app.use(originCheck([new URL(deps.config.publicUrl).origin, ...deps.config.allowedReturnOrigins]));
  app.use(requestBodies(deps.config.bodyLimit));
  for (const router of apiRouters(deps)) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}

/** Every router, by area; also what the OpenAPI contract test compares the document against. */
export function apiRouters(apiDeps: ApiDeps): Router<ApiState>[] {
  const deps: ApiDeps & { metrics: ApiMetrics } = {
    ...apiDeps,
    metrics: apiDeps.metrics ?? createApiMetrics(),
  };
  return [
    healthRoutes(deps),
    metricsRoutes(deps),
    auditEventRoutes(deps),
    orgRoutes(deps),
    domainRoutes(deps),
    connectorRoutes(deps),
    userRoutes(deps),
    provisioningRoutes(deps),
    signInDiagnosticRoutes(deps),
    authRoutes(deps),
    ssoRoutes(deps),
    meRoutes(deps),
    mfaRoutes(deps),
    breakGlassRoutes(deps),
  ];
}
