// Search attributes let an operator find any run in the Temporal UI by the IDs they know.
// IDs only: never raw emails or IdP attributes (they are personal data and end up in visibility stores).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OrgIdKey = defineSearchAttributeKey('OrgId', SearchAttributeType.KEYWORD);
export const DomainIdKey = defineSearchAttributeKey('DomainId', SearchAttributeType.KEYWORD);
export const ConnectorIdKey = defineSearchAttributeKey('ConnectorId', SearchAttributeType.KEYWORD);
export const UserIdKey = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);

/** Every custom search attribute, for registering them on a (dev) server. */
export const SEARCH_ATTRIBUTES = [OrgIdKey, DomainIdKey, ConnectorIdKey, UserIdKey].map((key) => ({
  name: key.name,
  type: 'Keyword' as const,
}));
