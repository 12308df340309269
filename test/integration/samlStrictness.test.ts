// SAML strictness through the real ACS: every signature a response carries must verify (a
// Response altered after signing is refused even when its assertion's own signature holds, and the
// reverse), a response with only one of the two signatures still signs in, and a response shaped
// to be expensive to parse is refused before any DOM is built. No refusal changes the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSamlResponseXml, type SamlResponseOptions } from '../helpers/samlIdp';
import { postAcs, startLogin, type SsoFixture, startSsoStack, type SsoStack } from '../helpers/sso';
import type { TestStack } from '../helpers/stack';

let sso: SsoStack;
let stack: TestStack;
let fixture: SsoFixture;

beforeAll(async () => {
  sso = await startSsoStack();
  ({ stack, fixture } = sso);
});

afterAll(async () => {
  await sso?.stop();
});

const person = () => `p${Math.random().toString(36).slice(2, 9)}@${fixture.domain}`;

async function counts() {
  const c = stack.services.c;
  return {
    users: await c.users.countDocuments(),
    identities: await c.ssoIdentities.countDocuments(),
    memberships: await c.memberships.countDocuments(),
    sessions: await c.sessions.countDocuments(),
  };
}

/** Signs in through the ACS with a response built from `options`, then changed by `tamper`. */
async function post(options: SamlResponseOptions, tamper: (xml: string) => string = (xml) => xml) {
  const email = person();
  const login = await startLogin(stack, fixture.connectorId);
  const xml = buildSamlResponseXml({
    inResponseTo: login.requestId,
    destination: fixture.acsUrl,
    recipient: fixture.acsUrl,
    audience: fixture.spEntityId,
    nameId: email,
    attributes: { email },
    ...options,
  });
  const res = await postAcs(
    stack,
    fixture.connectorId,
    { SAMLResponse: Buffer.from(tamper(xml)).toString('base64'), RelayState: login.relayState },
    login.bindingCookie,
  );
  return { res, email };
}

// What the issue reported: an element added to the signed Response envelope after signing.
const addExtensions = (xml: string) =>
  xml.replace(
    '<samlp:Status>',
    '<samlp:Extensions><x:Note xmlns:x="urn:example:x">added</x:Note></samlp:Extensions><samlp:Status>',
  );

describe('every signature a response carries must verify', () => {
  it.each([
    ['both signatures valid', { sign: 'both' }],
    ['only the Response signed', { sign: 'response' }],
    ['only the assertion signed', { sign: 'assertion' }],
  ] as const)('signs in with %s', async (_case, options) => {
    const { res } = await post(options);
    expect(res.status).toBe(303);
    expect(res.sessionToken).toBeDefined();
  });

  it.each([
    ['the Response signature broken, the assertion signature intact', { sign: 'both' }, addExtensions],
    [
      'the assertion signature broken, the Response signature intact',
      { sign: 'both', corruptAssertionSignature: true },
      undefined,
    ],
    ['the only signature, on the Response, broken', { sign: 'response' }, addExtensions],
  ] as const)('refuses a response with %s and changes nothing', async (_case, options, tamper) => {
    const before = await counts();
    const { res, email } = await post(options, tamper);
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_signature_invalid' } });
    expect(res.sessionToken).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain(email);
    expect(await counts()).toEqual(before);
  });
});

describe('parse cost is bounded before any check', () => {
  it('refuses a 250 KB response of 27,000 nested elements and changes nothing', async () => {
    const before = await counts();
    const nested = `<samlp:Extensions>${'<a>'.repeat(27_000)}${'</a>'.repeat(27_000)}</samlp:Extensions>`;
    const { res } = await post({ sign: 'assertion' }, (xml) =>
      xml.replace('<samlp:Status>', `${nested}<samlp:Status>`),
    );
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_response_too_complex' } });
    expect(await counts()).toEqual(before);
  });
});
