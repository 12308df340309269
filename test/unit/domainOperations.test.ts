import { describe, expect, it } from 'vitest';
import { fixedWindow, retryAfterSeconds } from '../../domain/rateLimit';
import { runSummaries } from '../../domain/runSummaries';

describe('rate-limit windows', () => {
  it('puts every replica in the same window and says when it ends', () => {
    const window = fixedWindow(125_500, 60_000);
    expect(window).toEqual({ index: 2, endsAtMs: 180_000 });
    expect(fixedWindow(179_999, 60_000).index).toBe(2);
    expect(fixedWindow(180_000, 60_000).index).toBe(3);
  });

  it('answers Retry-After in whole seconds, never zero', () => {
    const window = fixedWindow(125_500, 60_000);
    expect(retryAfterSeconds(125_500, window)).toBe(55);
    expect(retryAfterSeconds(179_999, window)).toBe(1);
    expect(retryAfterSeconds(180_000, window)).toBe(1);
  });
});

describe('run summaries', () => {
  it('reads at a glance, with organization and connection names', () => {
    expect(runSummaries.domainVerification('example.com', 'Acme')).toBe('verify example.com for org Acme');
    expect(runSummaries.connectorTeardown('Okta', 'Acme')).toBe('teardown of connection Okta (Acme)');
    expect(runSummaries.ssoSignIn('Okta', 'Acme')).toBe('sign-in through connection Okta (Acme)');
    expect(runSummaries.emailDelivery('sign_up_code')).toBe('deliver sign_up_code email');
  });

  it('stays one short line whatever an admin typed as a name', () => {
    expect(runSummaries.connectorTeardown('Okta\nprod\u0007', 'Acme')).toBe(
      'teardown of connection Okta prod (Acme)',
    );
    const long = runSummaries.ssoSignIn('x'.repeat(500), 'Acme');
    expect(long.length).toBe(200);
    expect(long.endsWith('…')).toBe(true);
  });
});
