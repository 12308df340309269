// Rate limits on the public routes (sign-in, sign-up, identify, email codes, password setup, SSO
// login and callbacks): per client IP on every one, per account where the body names an email,
// per connection where the path names one. Counters live in MongoDB (db/rateLimits.ts), so a
// limit counted on one API replica holds on every other. Keys are keyed digests (the `rate-limit`
// key): the counters hold no email and no IP address.
import type { Middleware } from 'koa';
import { deleteExpiredRateSlots, takeRateSlots, type RateSlotHints } from '../../db/rateLimits';
import type { Collections } from '../../db/collections';
import { normalizeEmail } from '../../domain/email';
import { DomainError } from '../../domain/errors';
import { fixedWindow, retryAfterSeconds } from '../../domain/rateLimit';
import { tokenDigest } from '../../security/tokens';
import type { ApiDeps, ApiState } from '../context';
import { timed } from '../../runtime/stepTimings';

type LimitKind = 'ip' | 'account' | 'connection';

export interface RateLimitScope {
  /** Count the email in the JSON body against the per-account limit. */
  account?: boolean;
  /** Count the :connectorId in the path against the per-connection limit. */
  connection?: boolean;
}

/** Per database: the window whose ended counters were last swept, so each process sweeps once a window. */
const lastSweep = new WeakMap<Collections, number>();

/** Per database: this process's slot hints (db/rateLimits.ts), for the current window only. */
const slotHints = new WeakMap<Collections, { window: number; hints: RateSlotHints }>();

function hintsFor(c: Collections, window: number): RateSlotHints {
  let current = slotHints.get(c);
  if (current?.window !== window) {
    current = { window, hints: new Map() };
    slotHints.set(c, current);
  }
  return current.hints;
}

/** The email the body names, normalized as sign-in would, so `A@x.com ` and `a@x.com` share a count. */
function accountOf(body: unknown): string | undefined {
  const email = (body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string') return undefined;
  const normalized = normalizeEmail(email);
  return normalized instanceof DomainError ? email.trim().toLowerCase() : normalized.email;
}

export function rateLimit(deps: ApiDeps, route: string, scope: RateLimitScope = {}): Middleware<ApiState> {
  const limits = deps.config.rateLimits;
  return async (ctx, next) => {
    const nowMs = deps.clock().getTime();
    const window = fixedWindow(nowMs, limits.windowMs);
    const checks: [LimitKind, number, string | undefined][] = [
      ['ip', limits.perIp, ctx.ip],
      [
        'account',
        scope.account ? limits.perAccount : 0,
        scope.account ? accountOf(ctx.request.body) : undefined,
      ],
      [
        'connection',
        scope.connection ? limits.perConnection : 0,
        scope.connection
          ? (ctx as unknown as { params?: { connectorId?: string } }).params?.connectorId
          : undefined,
      ],
    ];
    const counted = checks.flatMap(([kind, limit, value]) => {
      if (limit <= 0 || !value) return [];
      const digest = tokenDigest(`${kind}\n${value}`, deps.keys.current('rate-limit')).slice(0, 32);
      return [{ kind, limit, bucket: `${kind}:${digest}:${window.index}` }];
    });
    // Every limit's slot in one round trip (db/rateLimits.ts takeRateSlots).
    const refused = await timed('db: rate-limit slots', () =>
      takeRateSlots(deps.c, counted, new Date(window.endsAtMs), hintsFor(deps.c, window.index)),
    );
    const refusedBy = counted[refused]?.kind;
    if (refusedBy) {
      deps.metrics?.rateLimited.inc({ limit: refusedBy, route });
      const retryAfter = retryAfterSeconds(nowMs, window);
      ctx.set('Retry-After', String(retryAfter));
      throw new DomainError('rate_limited', undefined, { retryAfterSeconds: retryAfter });
    }
    if (lastSweep.get(deps.c) !== window.index) {
      lastSweep.set(deps.c, window.index);
      // Where the server takes TTL indexes this finds nothing; on FerretDB v1 it is the only cleanup.
      deleteExpiredRateSlots(deps.c, new Date(nowMs)).catch((error: unknown) =>
        deps.logger.warn({ errorName: (error as Error)?.name }, 'rate-limit sweep failed'),
      );
    }
    await next();
  };
}
