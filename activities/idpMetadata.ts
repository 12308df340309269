// Fetches an IdP's metadata document from the URL an admin gave, with a time limit and a size
// limit enforced while streaming (a hostile URL must not tie up a worker or fill its memory).
import { ApplicationFailure } from '@temporalio/activity';
import { IDP_METADATA_MAX_BYTES, parseIdpMetadata } from '../sso/saml/idpMetadata';
import { SamlMetadataError } from '../sso/saml/errors';

export interface IdpSettings {
  entityId: string;
  ssoUrl: string;
  ssoBinding: 'HTTP-Redirect' | 'HTTP-POST';
  certificates: string[];
}

export async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes)
    throw new SamlMetadataError('saml_metadata_too_large', 'The metadata document is too large');
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new SamlMetadataError('saml_metadata_too_large', 'The metadata document is too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createIdpMetadataActivities(deps: { timeoutMs: number; allowInsecureHttp: boolean }) {
  return {
    async fetchIdpMetadata({ url }: { url: string }): Promise<IdpSettings> {
      let response: Response;
      try {
        response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(deps.timeoutMs) });
      } catch {
        // Network trouble is worth a few retries; the workflow bounds them.
        throw ApplicationFailure.retryable('The metadata URL could not be reached', 'idp_unavailable');
      }
      if (!response.ok) {
        throw ApplicationFailure.nonRetryable(
          `The metadata URL answered HTTP ${response.status}`,
          'idp_metadata_invalid',
        );
      }
      try {
        const metadata = parseIdpMetadata(await readLimited(response, IDP_METADATA_MAX_BYTES), {
          allowInsecureHttp: deps.allowInsecureHttp,
        });
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
