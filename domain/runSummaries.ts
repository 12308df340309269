// The one-line summaries an operator reads beside each run in the Temporal Web UI (the start
// options' `staticSummary`). They name organizations, connections and domains, which admins chose
// and operators already see; never a user's email, a NameID or an IdP attribute.

/** The Temporal UI shows a line; keep summaries readable at a glance. */
const MAX_SUMMARY = 200;

const clip = (text: string) => (text.length <= MAX_SUMMARY ? text : `${text.slice(0, MAX_SUMMARY - 1)}…`);

/** Admin-entered names with line breaks or control characters would garble a one-line summary. */
const oneLine = (name: string) => name.replace(/\p{Cc}+/gu, ' ').trim();

export const runSummaries = {
  domainVerification: (domain: string, orgName: string) =>
    clip(`verify ${domain} for org ${oneLine(orgName)}`),
  connectorTeardown: (connectorName: string, orgName: string) =>
    clip(`teardown of connection ${oneLine(connectorName)} (${oneLine(orgName)})`),
  ssoSignIn: (connectorName: string, orgName: string) =>
    clip(`sign-in through connection ${oneLine(connectorName)} (${oneLine(orgName)})`),
  jitProvisioning: (connectorName: string, orgName: string) =>
    clip(`first sign-in (JIT) through connection ${oneLine(connectorName)} (${oneLine(orgName)})`),
  accountLinking: (connectorName: string, orgName: string) =>
    clip(`account linking through connection ${oneLine(connectorName)} (${oneLine(orgName)})`),
  /** A URL's host only: paths and queries of metadata URLs may carry application IDs or keys. */
  idpMetadataFetch: (host: string) => clip(`read IdP metadata from ${host}`),
  oidcDiscovery: (host: string) => clip(`discover OpenID provider at ${host}`),
  /** The kind of message (e.g. sign_up_code), never its recipient. */
  emailDelivery: (kind: string) => clip(`deliver ${oneLine(kind)} email`),
};
