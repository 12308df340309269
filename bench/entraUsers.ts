// What Entra ID sends for a user with its default SAML claims plus group claims: WS-Federation
// claim URIs, which sit late in the default mapping's candidate lists, so this is the costly case
// for attribute mapping, and the SAML benchmark signs the same attributes so its responses have a
// realistic size.
import { randomUUID } from 'node:crypto';
import type { AttributeValues } from '../domain/attributeMapping';

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/identity/claims';

export const ENTRA_NAME_ID_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export interface EntraUser {
  /** Entra's default NameID is the UPN, in email-address format. */
  nameId: string;
  attributes: AttributeValues;
}

const TENANT_ID = randomUUID();
const GROUP_IDS = Array.from({ length: 5 }, () => randomUUID());

export function entraUser(index: number): EntraUser {
  const upn = `user${index}@contoso.example`;
  return {
    nameId: upn,
    attributes: {
      [`${MS_CLAIMS}/tenantid`]: TENANT_ID,
      [`${MS_CLAIMS}/objectidentifier`]: randomUUID(),
      [`${MS_CLAIMS}/displayname`]: `User ${index} Example`,
      [`${MS_CLAIMS}/identityprovider`]: `https://sts.windows.net/${TENANT_ID}/`,
      'http://schemas.microsoft.com/claims/authnmethodsreferences': [
        'http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password',
        'http://schemas.microsoft.com/claims/multipleauthn',
      ],
      [`${CLAIMS}/givenname`]: 'User',
      [`${CLAIMS}/surname`]: `${index} Example`,
      [`${CLAIMS}/emailaddress`]: upn,
      [`${CLAIMS}/name`]: upn,
      'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': GROUP_IDS,
    },
  };
}
