// Branded string IDs: at runtime plain strings (they go to MongoDB, Temporal search attributes
// and JSON unchanged), at compile time distinct types, so a UserId can never be passed where an
// OrgId is expected. Brand a string only where it enters the system: a route parameter, a
// database document, or a freshly generated ID (db/ids.ts).

declare const brand: unique symbol;

export type Brand<T, Name extends string> = T & { readonly [brand]: Name };

export type OrgId = Brand<string, 'OrgId'>;
export type UserId = Brand<string, 'UserId'>;
export type DomainId = Brand<string, 'DomainId'>;
export type ConnectorId = Brand<string, 'ConnectorId'>;
/** An SSO identity: one subject (NameID / `sub`) at one connection. */
export type IdentityId = Brand<string, 'IdentityId'>;
export type SessionId = Brand<string, 'SessionId'>;

export const asOrgId = (raw: string): OrgId => raw as OrgId;
export const asUserId = (raw: string): UserId => raw as UserId;
export const asDomainId = (raw: string): DomainId => raw as DomainId;
export const asConnectorId = (raw: string): ConnectorId => raw as ConnectorId;
export const asIdentityId = (raw: string): IdentityId => raw as IdentityId;
export const asSessionId = (raw: string): SessionId => raw as SessionId;

// Route parameters are attacker-controlled; this bound keeps junk (huge strings, control
// characters, `$`-operators smuggled as strings) out of queries and logs before any lookup.
const ID_SHAPE = /^[A-Za-z0-9_:.-]{1,128}$/;

/** True when `raw` could be an ID of ours; a cheap edge check before a 404 lookup. */
export function isWellFormedId(raw: unknown): raw is string {
  return typeof raw === 'string' && ID_SHAPE.test(raw);
}
