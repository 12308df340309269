// Fetches an IdP's metadata document from the URL an admin gave. The URL is untrusted: the fetch
// goes only to public addresses (or networks the operator allowed), over https in production,
// with a time limit and a size limit enforced while streaming, and every way of not getting a
// document fails alike (security/untrustedFetch.ts says why).
import { ApplicationFailure } from '@temporalio/activity';
import {
  ResponseTooLargeError,
  fetchUntrustedUrl,
  type UntrustedFetchOptions,
  type UntrustedFetchPolicy,
} from '../security/untrustedFetch';
import { IDP_METADATA_MAX_BYTES, parseIdpMetadata } from '../sso/saml/idpMetadata';
import { SamlMetadataError } from '../sso/saml/errors';
import type { InsecureHttpPolicy } from '../domain/idpUrls';

export interface IdpSettings {
  entityId: string;
  ssoUrl: string;
  ssoBinding: 'HTTP-Redirect' | 'HTTP-POST';
  certificates: string[];
}

/** The same message for every unreachable case, whatever the cause, so no answer maps a network. */
export const IDP_UNAVAILABLE_MESSAGE = 'The metadata URL could not be read';

export function createIdpMetadataActivities(deps: {
  timeoutMs: number;
  fetchPolicy: UntrustedFetchPolicy;
  /** For the SSO URL inside the document. */
  insecureHttp: InsecureHttpPolicy;
  /** DNS for the metadata host; the system resolver by default. */
  resolve?: UntrustedFetchOptions['resolve'];
}) {
  return {
    async fetchIdpMetadata({ url }: { url: string }): Promise<IdpSettings> {
      let xml: string;
      try {
        xml = await fetchUntrustedUrl(url, {
          policy: deps.fetchPolicy,
          timeoutMs: deps.timeoutMs,
          maxBytes: IDP_METADATA_MAX_BYTES,
          ...(deps.resolve ? { resolve: deps.resolve } : {}),
        });
      } catch (error) {
        if (error instanceof ResponseTooLargeError)
          throw ApplicationFailure.nonRetryable('The metadata document is too large', 'idp_metadata_invalid');
        // Worth a few retries (the workflow bounds them): a refused address, a closed port and an
        // HTTP error all take this one path, so retrying them alike also keeps their timing alike.
        throw ApplicationFailure.retryable(IDP_UNAVAILABLE_MESSAGE, 'idp_unavailable');
      }
      try {
        const metadata = parseIdpMetadata(xml, { insecureHttp: deps.insecureHttp });
        return {
          entityId: metadata.entityId,
          ssoUrl: metadata.ssoUrl,
          ssoBinding: metadata.ssoBinding,
          certificates: metadata.certificates,
        };
      } catch (error) {
        if (error instanceof SamlMetadataError)
          throw ApplicationFailure.nonRetryable(error.message, 'idp_metadata_invalid');
        throw error;
      }
    },
  };
}
