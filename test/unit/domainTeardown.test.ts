import { describe, expect, it } from 'vitest';
import { canRestore, deleteAfter, fallbackFor } from '../../domain/teardown';

describe('fallbackFor (docs/rules.md, rule 10)', () => {
  it('guides only a user left with no password and no other working connection to a password', () => {
    expect(fallbackFor({ hasPassword: false, otherActiveIdentities: 0 })).toBe('password_setup');
    expect(fallbackFor({ hasPassword: true, otherActiveIdentities: 0 })).toBe('keep');
    expect(fallbackFor({ hasPassword: false, otherActiveIdentities: 1 })).toBe('keep');
    expect(fallbackFor({ hasPassword: true, otherActiveIdentities: 2 })).toBe('keep');
  });
});

describe('canRestore', () => {
  it('holds only during the grace period', () => {
    expect(canRestore('waiting')).toBe(true);
    expect(canRestore('removing')).toBe(false);
    expect(canRestore('done')).toBe(false);
  });
});

describe('deleteAfter', () => {
  it('is the request time plus the grace period', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(deleteAfter(at, 24 * 3_600_000).toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(deleteAfter(at, 0).getTime()).toBe(at.getTime());
  });
});
