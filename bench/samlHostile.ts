// What one hostile, unauthenticated POST to the ACS costs: a 250 KB SAMLResponse of 27,000
// nested elements (issue: it held the event loop for over a second). Our client refuses it in the
// streaming pre-pass, before any DOM is built; the baseline is plain node-saml, which parses it
// whole (and then refuses it too, for its signature). Each call answers its own request ID.
import { createInMemorySamlRequestStore } from '../sso/saml/requestStore';
import { SamlValidationError } from '../sso/saml/errors';
import { createSamlClient } from '../sso/saml/samlClient';
import { TEST_IDP, TEST_SP, buildSamlResponseXml, plainNodeSaml, testIdpKey } from '../test/helpers/samlIdp';
import { inputsNeeded, measure, printJsonLine, printTable, ratioNote, type MeasureOptions } from './harness';

// The baseline takes about a second a call, so few of them.
const OPTIONS: MeasureOptions = { warmup: 2, iterations: 12, rounds: 3 };
const NESTED = 27_000;

export async function runSamlHostileBench(): Promise<void> {
  const key = testIdpKey();
  const client = createSamlClient({
    connectorId: 'con_bench',
    spEntityId: TEST_SP.entityId,
    acsUrl: TEST_SP.acsUrl,
    idp: { entityId: TEST_IDP.entityId, ssoUrl: TEST_IDP.ssoUrl, certificates: [key.certificatePem] },
    clockSkewMs: 60_000,
    requestTtlMs: 10 * 60_000,
    requestStore: createInMemorySamlRequestStore(),
  });
  const nested = `<samlp:Extensions>${'<a>'.repeat(NESTED)}${'</a>'.repeat(NESTED)}</samlp:Extensions>`;
  const responses: string[] = [];
  for (let i = 0; i < inputsNeeded(OPTIONS); i += 1) {
    const { requestId } = await client.buildLoginUrl('bench');
    const xml = buildSamlResponseXml({ inResponseTo: requestId }).replace(
      '<samlp:Status>',
      `${nested}<samlp:Status>`,
    );
    responses.push(Buffer.from(xml).toString('base64'));
  }
  const baseline = plainNodeSaml();

  const [subjectStats, baselineStats] = await measure(
    [
      {
        name: 'createSamlClient().validatePostResponse (refuses)',
        async run(index) {
          try {
            await client.validatePostResponse({ SAMLResponse: responses[index] });
          } catch (error) {
            if (error instanceof SamlValidationError && error.code === 'saml_response_too_complex') return;
            throw error;
          }
          throw new Error('the hostile response was accepted');
        },
      },
      {
        name: 'node-saml validatePostResponseAsync',
        async run(index) {
          await baseline
            .validatePostResponseAsync({ SAMLResponse: responses[index] ?? '' })
            .catch(() => undefined);
        },
      },
    ],
    OPTIONS,
  );
  if (!subjectStats || !baselineStats) throw new Error('measure returned too few results');
  const responseKb = (responses[0]?.length ?? 0) / 1024;
  printTable(
    `saml-hostile: one ${responseKb.toFixed(0)} KB SAMLResponse of ${NESTED} nested elements at a time`,
    [subjectStats, baselineStats],
    [ratioNote(subjectStats, baselineStats)],
  );
  printJsonLine('saml-hostile', subjectStats, baselineStats, { response_kb: Number(responseKb.toFixed(1)) });
}
