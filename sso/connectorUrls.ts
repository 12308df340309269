// The SP settings an org admin gives their IdP. Each connection has its own entity ID and ACS URL,
// so a response meant for one connection can never be accepted by another.
export interface SpUrls {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
  loginUrl: string;
  oidcCallbackUrl: string;
}

export function spUrls(publicUrl: string, connectorId: string): SpUrls {
  const base = `${publicUrl}/v1/sso/${connectorId}`;
  return {
    entityId: base,
    acsUrl: `${base}/acs`,
    metadataUrl: `${base}/metadata`,
    loginUrl: `${base}/login`,
    oidcCallbackUrl: `${base}/callback`,
  };
}
