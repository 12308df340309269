// Keycloak's admin REST API, reduced to what the e2e tests need: a realm, SAML clients (one per
// service provider, i.e. per connector of ours) and users with passwords.
//
// The SAML attribute names below are Keycloak's own (SamlConfigAttributes, SamlProtocol and the
// saml-user-property / saml-user-attribute mappers in keycloak-services), not guesses.

/** How Keycloak fills the Subject's NameID. `username` sends the username as `unspecified`. */
export type SamlNameIdFormat = 'email' | 'persistent' | 'transient' | 'username';

export interface SamlClientOptions {
  /** The SP entity ID; Keycloak's clientId, matched against the AuthnRequest's Issuer. */
  spEntityId: string;
  /** Where Keycloak posts the SAMLResponse; also the only allowed AssertionConsumerServiceURL. */
  acsUrl: string;
  /** Default 'email'. Use 'persistent' to test an IdP whose NameID is not the email. */
  nameIdFormat?: SamlNameIdFormat;
  /**
   * SAML attribute names for the user's profile fields; `null` leaves one out (e.g. an IdP whose
   * mapping sends no email). Defaults: email, firstName, lastName.
   */
  attributeNames?: { email?: string | null; firstName?: string | null; lastName?: string | null };
  /** Custom user attributes (KeycloakUser.attributes) sent as SAML attributes of the same name. */
  userAttributes?: string[];
  /** Sign the whole Response (default true; node-saml wants it by default). */
  signDocuments?: boolean;
  /** Sign the Assertion (default true). */
  signAssertions?: boolean;
}

export interface KeycloakUser {
  username: string;
  password: string;
  email: string;
  // Keycloak's default user profile requires both names; without them it shows an
  // "update your account" form after the password instead of answering the SP.
  firstName: string;
  lastName: string;
  /** Extra attributes, sent to SPs whose client lists them in `userAttributes`. */
  attributes?: Record<string, string>;
}

export interface KeycloakAdminOptions {
  baseUrl: string;
  username: string;
  password: string;
}

type Json = Record<string, unknown>;

/** A thin admin REST client logged in as the bootstrap admin of the master realm. */
export class KeycloakAdmin {
  constructor(private readonly options: KeycloakAdminOptions) {}

  /** Creates `realm` with the given clients and users. */
  async createRealm(realm: string, clients: SamlClientOptions[], users: KeycloakUser[]): Promise<void> {
    await this.call('POST', '/admin/realms', {
      realm,
      enabled: true,
      // The tests speak plain HTTP on 127.0.0.1.
      sslRequired: 'none',
      clients: clients.map(samlClientRepresentation),
    });
    await this.allowCustomUserAttributes(realm);
    for (const user of users) await this.addUser(realm, user);
  }

  async addSamlClient(realm: string, client: SamlClientOptions): Promise<void> {
    await this.call(
      'POST',
      `/admin/realms/${encodeURIComponent(realm)}/clients`,
      samlClientRepresentation(client),
    );
  }

  async addUser(realm: string, user: KeycloakUser): Promise<void> {
    await this.call('POST', `/admin/realms/${encodeURIComponent(realm)}/users`, userRepresentation(user));
  }

  /**
   * Keycloak 24+ drops user attributes its user profile does not declare; enabling unmanaged
   * attributes keeps arbitrary ones (department, employeeId, ...) so SAML mappers can send them.
   */
  private async allowCustomUserAttributes(realm: string): Promise<void> {
    const path = `/admin/realms/${encodeURIComponent(realm)}/users/profile`;
    const profile = await this.call('GET', path);
    await this.call('PUT', path, { ...profile, unmanagedAttributePolicy: 'ENABLED' });
  }

  private cachedToken: { value: string; expiresAt: number } | undefined;

  private async token(): Promise<string> {
    if (this.cachedToken && this.cachedToken.expiresAt > Date.now()) return this.cachedToken.value;
    const response = await fetch(`${this.options.baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: this.options.username,
        password: this.options.password,
      }),
    });
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(`Keycloak admin login failed: ${response.status} ${JSON.stringify(body)}`);
    }
    // Master realm tokens live 60 s; renew well before that so a slow call never carries an expired one.
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 60) * 1000;
    this.cachedToken = { value: body.access_token, expiresAt: Date.now() + lifetimeMs / 2 };
    return body.access_token;
  }

  private async call(method: string, path: string, body?: Json): Promise<Json> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.token()}` };
    if (body) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Keycloak admin ${method} ${path} failed: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Json) : {};
  }
}

export function samlClientRepresentation(client: SamlClientOptions): Json {
  const names = { email: 'email', firstName: 'firstName', lastName: 'lastName', ...client.attributeNames };
  const mappers: Json[] = [];
  for (const property of ['email', 'firstName', 'lastName'] as const) {
    const samlName = names[property];
    if (samlName) mappers.push(attributeMapper('saml-user-property-mapper', property, samlName));
  }
  for (const attribute of client.userAttributes ?? []) {
    mappers.push(attributeMapper('saml-user-attribute-mapper', attribute, attribute));
  }
  return {
    clientId: client.spEntityId,
    name: client.spEntityId,
    protocol: 'saml',
    enabled: true,
    // Keycloak accepts an AuthnRequest's AssertionConsumerServiceURL only if it matches these.
    redirectUris: [client.acsUrl],
    frontchannelLogout: true,
    protocolMappers: mappers,
    attributes: {
      // Our AuthnRequests are unsigned, as most SPs' are.
      'saml.client.signature': 'false',
      'saml.server.signature': String(client.signDocuments ?? true),
      'saml.assertion.signature': String(client.signAssertions ?? true),
      'saml.signature.algorithm': 'RSA_SHA256',
      saml_signature_canonicalization_method: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      'saml.encrypt': 'false',
      'saml.authnstatement': 'true',
      saml_name_id_format: client.nameIdFormat ?? 'email',
      // Use the format above even if the AuthnRequest asks for another one.
      saml_force_name_id_format: 'true',
      'saml.force.post.binding': 'true',
      saml_assertion_consumer_url_post: client.acsUrl,
    },
  };
}

function attributeMapper(type: string, source: string, samlName: string): Json {
  return {
    name: `${samlName} attribute`,
    protocol: 'saml',
    protocolMapper: type,
    config: {
      'user.attribute': source,
      'attribute.name': samlName,
      'attribute.nameformat': 'Basic',
      'friendly.name': samlName,
    },
  };
}

export function userRepresentation(user: KeycloakUser): Json {
  return {
    username: user.username,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    enabled: true,
    emailVerified: true,
    attributes: Object.fromEntries(
      Object.entries(user.attributes ?? {}).map(([name, value]) => [name, [value]]),
    ),
    credentials: [{ type: 'password', value: user.password, temporary: false }],
  };
}
