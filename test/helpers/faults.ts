// Shared by the fault and scale-out tests: a seeded random source (a failing trial can be
// replayed with its seed), a sign-in that a person repeats until it completes, and the check that
// a crash or an outage left nothing doubled and nothing half done, read straight from the database.
import { expect } from 'vitest';
import type { Collections } from '../../db/collections';
import { request } from './http';
import { postAcs, responseFor, startLogin, type SsoFixture } from './sso';
import { eventually } from './wait';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed from `name` in the environment (to replay a run), else a fresh one; printed either way. */
export function seedFrom(name: string): number {
  const given = process.env[name];
  const seed = given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  if (!Number.isInteger(seed)) throw new Error(`${name} must be an integer`);
  console.log(`${name}=${seed}`);
  return seed;
}

export interface Person {
  subject: string;
  email: string;
}

export type AcsAnswer = Awaited<ReturnType<typeof postAcs>>;

/** One complete SP-initiated attempt (fresh AuthnRequest, fresh signed response) against `baseUrl`. */
export async function attemptSignIn(
  baseUrl: string,
  fixture: SsoFixture,
  person: Person,
): Promise<AcsAnswer> {
  const login = await startLogin({ baseUrl }, fixture.connectorId);
  return postAcs(
    { baseUrl },
    fixture.connectorId,
    {
      SAMLResponse: responseFor(fixture, login, {
        nameId: person.subject,
        attributes: { email: person.email, displayName: `Person ${person.subject}` },
      }),
      RelayState: login.relayState,
    },
    login.bindingCookie,
  );
}

/** What a client may be told during a fault: success, or "try again later", never a bare 500. */
export function expectSuccessOrTryAgain(answer: Pick<AcsAnswer, 'status' | 'body'>, what: string): void {
  if (answer.status === 303) return;
  expect({ what, status: answer.status, code: answer.body.code }).toEqual({
    what,
    status: 503,
    code: 'try_again_later',
  });
}

/**
 * Repeats the sign-in as a person would after "try again later" until it completes. A login
 * redirect may also meet the outage's tail (503); anything else fails the test.
 */
export async function signInUntilDone(baseUrl: string, fixture: SsoFixture, person: Person): Promise<string> {
  return eventually(
    async () => {
      const answer = await attemptSignIn(baseUrl, fixture, person);
      expectSuccessOrTryAgain(answer, `retry of ${person.subject}`);
      return answer.status === 303 ? (answer.sessionToken ?? '') : undefined;
    },
    `sign-in of ${person.subject} to complete`,
    120_000,
  );
}

/** The user a session token belongs to, through GET /v1/me. */
export async function sessionUser(baseUrl: string, token: string): Promise<string> {
  const me = await request<{ id: string }>(baseUrl, 'GET', '/v1/me', { token });
  expect(me.status).toBe(200);
  return me.body.id;
}

/**
 * After every `people` has signed in through `fixture` by JIT: exactly one user per email, one
 * identity per subject, one membership per user, and nothing half done anywhere in the
 * connection (an identity whose user or membership is missing, a user of the domain without
 * identity or membership).
 */
export async function expectProvisionedOnce(
  c: Collections,
  fixture: SsoFixture,
  people: readonly Person[],
): Promise<void> {
  const problems: string[] = [];
  for (const person of people) {
    const users = await c.users.find({ email: person.email }).toArray();
    if (users.length !== 1) problems.push(`${users.length} users for ${person.email}`);
    const identities = await c.ssoIdentities
      .find({ connectorId: fixture.connectorId as never, subject: person.subject })
      .toArray();
    if (identities.length !== 1) problems.push(`${identities.length} identities for ${person.subject}`);
    const [user] = users;
    if (user && identities[0] && identities[0].userId !== user._id)
      problems.push(`the identity of ${person.subject} points at another user than ${person.email}`);
  }
  for (const identity of await c.ssoIdentities
    .find({ connectorId: fixture.connectorId as never })
    .toArray()) {
    if (!(await c.users.findOne({ _id: identity.userId })))
      problems.push(`identity ${identity._id} has no user`);
    const memberships = await c.memberships.countDocuments({
      orgId: fixture.org.id as never,
      userId: identity.userId,
    });
    if (memberships !== 1) problems.push(`${memberships} memberships for user ${identity.userId}`);
  }
  const domainUsers = await c.users
    .find({ email: { $regex: `@${fixture.domain.replace(/\./g, '\\.')}$` } })
    .toArray();
  for (const user of domainUsers) {
    const identities = await c.ssoIdentities.countDocuments({
      connectorId: fixture.connectorId as never,
      userId: user._id,
    });
    if (identities !== 1) problems.push(`user ${user._id} has ${identities} identities (half done?)`);
  }
  expect(domainUsers.length).toBe(people.length);
  expect(problems).toEqual([]);
}
