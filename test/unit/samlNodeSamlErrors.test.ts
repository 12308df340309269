// node-saml reports its refusals as plain Errors, and sso/saml/samlClient.ts picks our code from
// their messages. Each case here makes the real node-saml refuse a response for one reason and
// checks the code we derive, so an upgrade that rewords a message fails here instead of silently
// changing the code users and admins see.
import { ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { describe, expect, it } from 'vitest';
import type { SamlValidationErrorCode } from '../../sso/saml/errors';
import { NODE_SAML_ERRORS, translateNodeSamlError } from '../../sso/saml/samlClient';
import {
  TEST_SP,
  buildSamlResponse,
  plainNodeSaml,
  testIdpKey,
  type SamlResponseOptions,
} from '../helpers/samlIdp';

async function refusalCode(
  response: SamlResponseOptions,
  config: Partial<SamlConfig> = {},
): Promise<SamlValidationErrorCode> {
  const SAMLResponse = buildSamlResponse({
    inResponseTo: '_request',
    destination: TEST_SP.acsUrl,
    recipient: TEST_SP.acsUrl,
    audience: TEST_SP.entityId,
    ...response,
  });
  const error = await plainNodeSaml({ acceptedClockSkewMs: 1_000, ...config })
    .validatePostResponseAsync({ SAMLResponse })
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(error, 'node-saml accepted the response').toBeInstanceOf(Error);
  return (translateNodeSamlError(error) as Error & { code: SamlValidationErrorCode }).code;
}

const HOUR = 3_600_000;
const CASES: [string, SamlValidationErrorCode, () => Promise<SamlValidationErrorCode>][] = [
  ['two assertions', 'saml_multiple_assertions', () => refusalCode({ wrap: 'sibling' })],
  [
    'an InResponseTo no request is pending for',
    'saml_unsolicited_response',
    () =>
      refusalCode(
        { inResponseTo: '_never_issued' },
        {
          validateInResponseTo: ValidateInResponseTo.always,
          cacheProvider: {
            saveAsync: () => Promise.resolve(null),
            getAsync: () => Promise.resolve(null),
            removeAsync: () => Promise.resolve(null),
          },
        },
      ),
  ],
  [
    'a signature by another key',
    'saml_signature_invalid',
    () => refusalCode({ signWith: testIdpKey('other') }),
  ],
  ['no signature at all', 'saml_signature_invalid', () => refusalCode({ sign: 'none' })],
  [
    'an assertion not valid yet',
    'saml_assertion_not_yet_valid',
    () => refusalCode({ notBefore: new Date(Date.now() + HOUR) }),
  ],
  [
    'an expired assertion',
    'saml_assertion_expired',
    () => refusalCode({ notOnOrAfter: new Date(Date.now() - HOUR) }),
  ],
  ['another audience', 'saml_audience_mismatch', () => refusalCode({ audience: 'https://other.example' })],
  ['an encrypted assertion', 'saml_encrypted_assertion_unsupported', () => refusalCode({ encrypted: true })],
];

describe("node-saml's refusals map to our codes", () => {
  it.each(CASES)('%s gives %s', async (_why, code, refuse) => {
    expect(await refuse()).toBe(code);
  });

  it('has a case for every code the message table can give', () => {
    const mapped = new Set(NODE_SAML_ERRORS.map(([, code]) => code));
    expect(new Set(CASES.map(([, code]) => code))).toEqual(mapped);
  });

  it('gives the generic code, never the message, for an error it does not know', () => {
    const error = translateNodeSamlError(new Error('something new about <NameID>ada@example.com'));
    expect(error).toMatchObject({ code: 'saml_response_invalid' });
    expect(error.message).not.toContain('ada@example.com');
  });
});
