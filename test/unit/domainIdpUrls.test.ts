import { describe, expect, it } from 'vitest';
import { idpUrlProblem, insecureHttpPolicy } from '../../domain/idpUrls';

describe('IdP URLs', () => {
  it('takes https only in production, loopback included', () => {
    const policy = insecureHttpPolicy('production');
    expect(idpUrlProblem('https://idp.example.com/saml', policy)).toBeUndefined();
    expect(idpUrlProblem('http://idp.example.com/saml', policy)).toBe('must be an https URL');
    expect(idpUrlProblem('http://127.0.0.1:8080/saml', policy)).toBe('must be an https URL');
    expect(idpUrlProblem('http://localhost/saml', policy)).toBe('must be an https URL');
  });

  it('takes plain http in development and tests', () => {
    for (const env of ['development', 'test'] as const) {
      expect(idpUrlProblem('http://idp.local/saml', insecureHttpPolicy(env))).toBeUndefined();
    }
  });

  it('takes plain http to loopback only, under the loopback policy', () => {
    expect(idpUrlProblem('http://127.0.0.1:8080/sso', 'loopback')).toBeUndefined();
    expect(idpUrlProblem('http://[::1]/sso', 'loopback')).toBeUndefined();
    expect(idpUrlProblem('http://idp.example.com/sso', 'loopback')).toBe('must be an https URL');
  });

  it('refuses what is not a web URL, or carries credentials, under every policy', () => {
    for (const policy of ['refuse', 'loopback', 'allow'] as const) {
      expect(idpUrlProblem('javascript:alert(1)', policy)).toBe('must be an https URL');
      expect(idpUrlProblem('not a url', policy)).toBe('is not a URL');
      expect(idpUrlProblem('https://user:pass@idp.example.com/', policy)).toBe(
        'must not contain credentials',
      );
    }
  });
});
