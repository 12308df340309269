// Every workflow the worker runs; the bundler starts from this file.
export { accountLinking } from './accountLinking';
export { certificateCheck } from './certificateCheck';
export { domainVerification } from './domainVerification';
export { emailDelivery } from './emailDelivery';
export { idpMetadataFetch } from './idpMetadataFetch';
export { jitProvisioning } from './jitProvisioning';
export { oidcDiscovery } from './oidcDiscovery';
export { ssoSignIn } from './ssoSignIn';
export { connectorTeardown } from './connectorTeardown';
