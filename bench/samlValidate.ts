// The ACS's CPU cost per sign-in: our SAML client against plain node-saml on the same signed
// responses. The difference is what the defence-in-depth checks (bounded streaming pre-pass,
// strict DOM checks, every signature required to verify, one-shot request IDs, a SAML object per
// call) cost. The phases of our client are timed alone on the same responses, interleaved with it.
import { createInMemorySamlRequestStore } from '../sso/saml/requestStore';
import {
  SAML_RESPONSE_MAX_LENGTH,
  decodeSamlResponseField,
  inspectResponse,
} from '../sso/saml/responseChecks';
import { createSamlClient, type SamlClientOptions } from '../sso/saml/samlClient';
import { TEST_IDP, TEST_SP, buildSamlResponse, plainNodeSaml, testIdpKey } from '../test/helpers/samlIdp';
import { ENTRA_NAME_ID_FORMAT, entraUser } from './entraUsers';
import { parseStrictXml } from '../sso/saml/xml';
import {
  inputsNeeded,
  measure,
  printJsonLine,
  printTable,
  ratioNote,
  type MeasureOptions,
  type Stats,
} from './harness';

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
  const xmls = responses.map((response) => Buffer.from(response, 'base64').toString('utf8'));
  const expectations = {
    idpEntityId: TEST_IDP.entityId,
    spEntityId: TEST_SP.entityId,
    acsUrl: TEST_SP.acsUrl,
    clockSkewMs: CLOCK_SKEW_MS,
    idpCertificates: [key.certificatePem],
  };

  // The same trust settings as our client, minus what only it does: node-saml's own InResponseTo
  // check is off (our client replaces it by the store), and one SAML object serves every call, as
  // a plain node-saml integration would have it.
  const baseline = plainNodeSaml({ acceptedClockSkewMs: CLOCK_SKEW_MS });

  const [subjectStats, baselineStats, decodeStats, parseStats, inspectStats] = await measure(
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
      // Phases of the subject, each alone (none consumes a request ID, so the responses serve again).
      {
        name: 'phase: decode (base64, DOCTYPE, streaming shape)',
        run(index) {
          decodeSamlResponseField(responses[index], SAML_RESPONSE_MAX_LENGTH);
        },
      },
      {
        name: 'phase: DOM parse of the posted XML',
        run(index) {
          if (!parseStrictXml(xmls[index] ?? '')) throw new Error('unexpected parse failure');
        },
      },
      {
        name: 'phase: inspectResponse (parse, checks, signatures)',
        run(index) {
          inspectResponse(xmls[index] ?? '', { ...expectations, nowMs: Date.now() });
        },
      },
    ],
    OPTIONS,
  );
  if (!subjectStats || !baselineStats || !decodeStats || !parseStats || !inspectStats)
    throw new Error('measure returned too few results');

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
  const phases = phaseBreakdown(subjectStats, decodeStats, parseStats, inspectStats);
  printTable(
    'saml-validate phases: each part of createSamlClient().validatePostResponse alone, same responses',
    [decodeStats, parseStats, inspectStats],
    [
      `p50 ms per phase: ${Object.entries(phases)
        .map(([phase, ms]) => `${phase} ${ms.toFixed(2)}`)
        .join(', ')}`,
      'signatures = inspectResponse minus its DOM parse (checks included: a few hundred µs); node-saml = the whole minus decode and inspectResponse',
    ],
  );
  printJsonLine('saml-validate', subjectStats, baselineStats, {
    response_kb: Number(responseKb.toFixed(2)),
    phases_p50_ms: Object.fromEntries(
      Object.entries(phases).map(([phase, ms]) => [phase, Number(ms.toFixed(3))]),
    ),
  });
}

/**
 * Milliseconds per phase, from medians (means swing with every pause of a shared machine), so the
 * differences are approximate: `node-saml` (request ID, assertion checks, profile, attribute values
 * read from the signed DOM) is what the whole costs beyond the phases timed alone.
 */
function phaseBreakdown(whole: Stats, decode: Stats, parse: Stats, inspect: Stats): Record<string, number> {
  return {
    decode: decode.p50Ms,
    parse: parse.p50Ms,
    'checks+signatures': inspect.p50Ms - parse.p50Ms,
    'node-saml': whole.p50Ms - decode.p50Ms - inspect.p50Ms,
    whole: whole.p50Ms,
  };
}
