// The ACS's CPU cost per sign-in: our SAML client against plain node-saml on the same signed
// responses. The difference is what the defence-in-depth checks (strict pre-parse, second pass on
// the verified assertion, one-shot request IDs, a SAML object per call) cost.
import { createInMemorySamlRequestStore } from '../sso/saml/requestStore';
import { createSamlClient, type SamlClientOptions } from '../sso/saml/samlClient';
import { TEST_IDP, TEST_SP, buildSamlResponse, plainNodeSaml, testIdpKey } from '../test/helpers/samlIdp';
import { ENTRA_NAME_ID_FORMAT, entraUser } from './entraUsers';
import { inputsNeeded, measure, printJsonLine, printTable, ratioNote, type MeasureOptions } from './harness';

const OPTIONS: MeasureOptions = { warmup: 60, iterations: 600, rounds: 6 };
// The production default (SAML_CLOCK_SKEW) and request lifetime (SAML_REQUEST_TTL).
const CLOCK_SKEW_MS = 60_000;
const REQUEST_TTL_MS = 10 * 60_000;
const RELAY_STATE = 'bench-relay-state';

export async function runSamlValidateBench(): Promise<void> {
  const setupStart = performance.now();
  const key = testIdpKey();
  const clientOptions: SamlClientOptions = {
    connectorId: 'con_bench',
    spEntityId: TEST_SP.entityId,
    acsUrl: TEST_SP.acsUrl,
    idp: { entityId: TEST_IDP.entityId, ssoUrl: TEST_IDP.ssoUrl, certificates: [key.certificatePem] },
    clockSkewMs: CLOCK_SKEW_MS,
    requestTtlMs: REQUEST_TTL_MS,
    // In memory, so the figures are CPU only; in production each response also costs one
    // round trip to MongoDB to consume its request ID.
    requestStore: createInMemorySamlRequestStore(),
  };
  const client = createSamlClient(clientOptions);

  // Built before timing starts so only validation is measured (signing costs about as much). Each
  // answers its own AuthnRequest because our client accepts a request ID only once.
  const responses: string[] = [];
  const nameIds: string[] = [];
  for (let i = 0; i < inputsNeeded(OPTIONS); i += 1) {
    const { requestId } = await client.buildLoginUrl(RELAY_STATE);
    const user = entraUser(i);
    nameIds.push(user.nameId);
    responses.push(
      buildSamlResponse({
        inResponseTo: requestId,
        nameId: user.nameId,
        nameIdFormat: ENTRA_NAME_ID_FORMAT,
        attributes: user.attributes,
      }),
    );
  }
  const setupMs = performance.now() - setupStart;

  // The same trust settings as our client, minus what only it does: node-saml's own InResponseTo
  // check is off (our client replaces it by the store), and one SAML object serves every call, as
  // a plain node-saml integration would have it.
  const baseline = plainNodeSaml({ acceptedClockSkewMs: CLOCK_SKEW_MS });

  const [subjectStats, baselineStats] = await measure(
    [
      {
        name: 'createSamlClient().validatePostResponse',
        async run(index) {
          const assertion = await client.validatePostResponse({
            SAMLResponse: responses[index],
            RelayState: RELAY_STATE,
          });
          // A refusal would be fast and meaningless, so anything but the expected user stops the run.
          if (assertion.nameId !== nameIds[index]) throw new Error('unexpected assertion');
        },
      },
      {
        name: 'node-saml validatePostResponseAsync',
        async run(index) {
          const { profile } = await baseline.validatePostResponseAsync({
            SAMLResponse: responses[index] ?? '',
          });
          if (profile?.nameID !== nameIds[index]) throw new Error('unexpected profile');
        },
      },
    ],
    OPTIONS,
  );
  if (!subjectStats || !baselineStats) throw new Error('measure returned too few results');

  const responseKb = (responses[0]?.length ?? 0) / 1024;
  const attributeCount = Object.keys(entraUser(0).attributes).length;
  printTable(
    `saml-validate: one signed SAMLResponse at a time (RSA-2048, ${attributeCount} Entra ID attributes)`,
    [subjectStats, baselineStats],
    [
      ratioNote(subjectStats, baselineStats),
      `response size ${responseKb.toFixed(1)} KB base64; request store in memory (no MongoDB round trip)`,
      `setup (IdP key, ${responses.length} login URLs and signed responses) ${(setupMs / 1000).toFixed(1)} s, not timed`,
    ],
  );
  printJsonLine('saml-validate', subjectStats, baselineStats, { response_kb: Number(responseKb.toFixed(2)) });
}
