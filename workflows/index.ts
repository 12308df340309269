// Every workflow the worker runs; the bundler starts from this file.
export { domainVerification } from './domainVerification';
