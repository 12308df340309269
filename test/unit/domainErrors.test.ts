import { describe, expect, it } from 'vitest';
import { DomainError, ERRORS, errorStatus, isErrorCode, isRetryableCode, orThrow } from '../../domain/errors';
import { asOrgId, asUserId, isWellFormedId } from '../../domain/ids';

describe('error taxonomy', () => {
  it('gives every code an HTTP error status and a default message', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.title.length, code).toBeGreaterThan(0);
    }
  });

  it('keeps the statuses the HTTP contract promises', () => {
    expect(errorStatus('sso_required')).toBe(403);
    expect(errorStatus('mfa_required')).toBe(401);
    expect(errorStatus('password_setup_required')).toBe(409);
    expect(errorStatus('client_upgrade_required')).toBe(426);
    expect(errorStatus('plan_required')).toBe(402);
    expect(errorStatus('validation_failed')).toBe(400);
  });

  it('marks only infrastructure trouble as retryable', () => {
    const retryable = Object.keys(ERRORS).filter((code) => isErrorCode(code) && isRetryableCode(code));
    expect(retryable.sort()).toEqual(['idp_unavailable', 'internal_error', 'not_ready', 'try_again_later']);
  });

  it('recognizes its own codes and nothing else, so failure types from Temporal map back safely', () => {
    expect(isErrorCode('domain_taken')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('DomainError')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it('carries code, status, default message and extensions', () => {
    const error = new DomainError('sso_required', undefined, { connectorId: 'con_1' });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('sso_required');
    expect(error.status).toBe(403);
    expect(error.message).toBe(ERRORS.sso_required.title);
    expect(error.extensions).toEqual({ connectorId: 'con_1' });
    expect(error.retryable).toBe(false);
  });

  it('unwraps a normalizer result or throws its error', () => {
    expect(orThrow('value')).toBe('value');
    expect(() => orThrow(new DomainError('domain_invalid'))).toThrow(DomainError);
  });
});

describe('IDs', () => {
  it('are plain strings at runtime', () => {
    expect(asOrgId('org_1')).toBe('org_1');
    expect(asUserId('usr_1')).toBe('usr_1');
  });

  it('refuses junk before it reaches a query', () => {
    expect(isWellFormedId('org_3f2c0a')).toBe(true);
    expect(isWellFormedId('con_1:abc')).toBe(true);
    expect(isWellFormedId('')).toBe(false);
    expect(isWellFormedId('x'.repeat(129))).toBe(false);
    expect(isWellFormedId('$ne')).toBe(false);
    expect(isWellFormedId('a b')).toBe(false);
    expect(isWellFormedId({ $ne: null })).toBe(false);
  });
});
