import { describe, expect, it } from 'vitest';
import { asConnectorId, asUserId } from '../../domain/ids';
import {
  accountClaim,
  decideSsoSignIn,
  enforcementRefusal,
  passwordSignInPolicy,
  refusalError,
  type PasswordSignInFacts,
  type SsoSignInFacts,
} from '../../domain/signInPolicy';

const alice = asUserId('usr_alice');
const bob = asUserId('usr_bob');
const connectorId = asConnectorId('con_acme');

const sso = (facts: Partial<SsoSignInFacts>) =>
  decideSsoSignIn({ connectorVerifiedDomains: ['acme.com'], jitEnabled: true, ...facts });

describe('SSO sign-in decision', () => {
  it('signs a returning identity in, whatever its email is now', () => {
    expect(sso({ existingIdentity: { userId: alice }, email: 'alice@elsewhere.org' })).toEqual({
      kind: 'returning',
      userId: alice,
    });
  });

  it('signs a returning identity in even when the IdP sends no email', () => {
    expect(sso({ existingIdentity: { userId: alice } })).toEqual({ kind: 'returning', userId: alice });
  });

  it('keeps a returning identity on its own user even when the email now matches another account', () => {
    expect(
      sso({
        existingIdentity: { userId: alice },
        existingUserByEmail: { userId: bob, emailProven: true },
        email: 'bob@acme.com',
      }),
    ).toEqual({ kind: 'returning', userId: alice });
  });

  it('refuses a new identity without email, pointing at the attribute mapping', () => {
    expect(sso({})).toEqual({ kind: 'refuse', code: 'email_missing' });
    expect(sso({ email: 'not an email' })).toEqual({ kind: 'refuse', code: 'email_missing' });
  });

  it('links an existing account with the same email and keeps its user ID', () => {
    expect(sso({ existingUserByEmail: { userId: bob, emailProven: true }, email: 'Bob@ACME.com' })).toEqual({
      kind: 'link',
      userId: bob,
    });
  });

  it('never links an account outside the connection verified domains', () => {
    expect(sso({ existingUserByEmail: { userId: bob, emailProven: true }, email: 'bob@gmail.com' })).toEqual({
      kind: 'refuse',
      code: 'email_domain_not_allowed',
    });
  });

  it('does not treat a subdomain or a look-alike suffix as a verified domain', () => {
    expect(sso({ email: 'x@eng.acme.com' })).toEqual({ kind: 'refuse', code: 'email_domain_not_allowed' });
    expect(sso({ email: 'x@notacme.com' })).toEqual({ kind: 'refuse', code: 'email_domain_not_allowed' });
  });

  it('provisions a new user whose email is in a verified domain', () => {
    expect(sso({ email: 'carol@acme.com' })).toEqual({ kind: 'provision' });
  });

  it('matches internationalized domains in either spelling', () => {
    expect(
      decideSsoSignIn({
        email: 'ana@bücher.de',
        connectorVerifiedDomains: ['xn--bcher-kva.de'],
        jitEnabled: true,
      }),
    ).toEqual({
      kind: 'provision',
    });
  });

  it('refuses to provision outside the verified domains', () => {
    expect(sso({ email: 'carol@other.com' })).toEqual({ kind: 'refuse', code: 'email_domain_not_allowed' });
  });

  it('refuses unknown users when JIT is off', () => {
    expect(sso({ email: 'carol@acme.com', jitEnabled: false })).toEqual({
      kind: 'refuse',
      code: 'jit_disabled',
    });
  });

  it('reclaims an account whose email was never proven instead of linking it', () => {
    expect(sso({ existingUserByEmail: { userId: bob, emailProven: false }, email: 'bob@acme.com' })).toEqual({
      kind: 'reclaim',
      userId: bob,
    });
  });

  it('never reclaims an unproven account outside the verified domains', () => {
    expect(sso({ existingUserByEmail: { userId: bob, emailProven: false }, email: 'bob@gmail.com' })).toEqual(
      { kind: 'refuse', code: 'email_domain_not_allowed' },
    );
  });

  it('keeps a returning identity on its user, never reclaiming by email', () => {
    expect(
      sso({
        existingIdentity: { userId: alice },
        existingUserByEmail: { userId: bob, emailProven: false },
        email: 'bob@acme.com',
      }),
    ).toEqual({ kind: 'returning', userId: alice });
  });

  it('reclaims an unproven account when JIT is off: no account is created', () => {
    expect(
      sso({
        existingUserByEmail: { userId: bob, emailProven: false },
        email: 'bob@acme.com',
        jitEnabled: false,
      }),
    ).toEqual({ kind: 'reclaim', userId: bob });
  });

  it('still links existing accounts when JIT is off', () => {
    expect(
      sso({
        existingUserByEmail: { userId: bob, emailProven: true },
        email: 'bob@acme.com',
        jitEnabled: false,
      }),
    ).toEqual({
      kind: 'link',
      userId: bob,
    });
  });
});

const password = (facts: Partial<PasswordSignInFacts>) =>
  passwordSignInPolicy({
    clientTooOld: false,
    account: { hasPassword: true, mfaEnabled: false, emailProven: true },
    passwordValid: true,
    totpGiven: false,
    totpValid: false,
    ...facts,
  });

describe('password sign-in policy', () => {
  it('allows a valid password and records pwd as the method', () => {
    expect(password({})).toEqual({ kind: 'allow', amr: ['pwd'], exempted: false });
  });

  it('refuses every password in an enforced domain with the connection to use', () => {
    expect(password({ enforcedDomain: { connectorId } })).toEqual({
      kind: 'refuse',
      code: 'sso_required',
      connectorId,
    });
  });

  it('answers sso_required for an enforced domain even when the account does not exist or the password is wrong', () => {
    expect(
      password({ enforcedDomain: { connectorId }, account: undefined, passwordValid: false }),
    ).toMatchObject({
      code: 'sso_required',
    });
  });

  it('tells an outdated desktop client in an enforced domain to upgrade', () => {
    expect(password({ enforcedDomain: { connectorId }, clientTooOld: true })).toEqual({
      kind: 'refuse',
      code: 'client_upgrade_required',
    });
  });

  it('does not bother an outdated desktop client whose domain is not enforced', () => {
    expect(password({ clientTooOld: true })).toEqual({ kind: 'allow', amr: ['pwd'], exempted: false });
  });

  it('answers an unknown email exactly like a wrong password', () => {
    expect(password({ account: undefined, passwordValid: false })).toEqual({
      kind: 'refuse',
      code: 'invalid_credentials',
    });
    expect(password({ passwordValid: false })).toEqual({ kind: 'refuse', code: 'invalid_credentials' });
  });

  it('guides an account without a password to set one up', () => {
    expect(
      password({
        account: { hasPassword: false, mfaEnabled: false, emailProven: true },
        passwordValid: false,
      }),
    ).toEqual({
      kind: 'refuse',
      code: 'password_setup_required',
    });
  });

  it('opens no account whose email is unproven, and says so only to who knows the password', () => {
    const account = { hasPassword: true, mfaEnabled: false, emailProven: false };
    expect(password({ account, passwordValid: false })).toEqual({
      kind: 'refuse',
      code: 'invalid_credentials',
    });
    expect(password({ account, passwordValid: true })).toEqual({ kind: 'refuse', code: 'email_unverified' });
    // The pending sign-up's password, before the account has one of its own.
    expect(password({ account: { ...account, hasPassword: false }, passwordValid: true })).toEqual({
      kind: 'refuse',
      code: 'email_unverified',
    });
  });

  it('routes an unproven account in an enforced domain to SSO like any other', () => {
    expect(
      password({
        enforcedDomain: { connectorId },
        account: { hasPassword: true, mfaEnabled: false, emailProven: false },
      }),
    ).toMatchObject({ code: 'sso_required' });
  });

  it('asks for the second factor only after the password is proven', () => {
    const account = { hasPassword: true, mfaEnabled: true, emailProven: true };
    expect(password({ account, passwordValid: false })).toEqual({
      kind: 'refuse',
      code: 'invalid_credentials',
    });
    expect(password({ account })).toEqual({ kind: 'refuse', code: 'mfa_required' });
  });

  it('refuses a wrong one-time code', () => {
    expect(
      password({
        account: { hasPassword: true, mfaEnabled: true, emailProven: true },
        totpGiven: true,
        totpValid: false,
      }),
    ).toEqual({
      kind: 'refuse',
      code: 'mfa_invalid',
    });
  });

  it('allows password plus a valid one-time code and records both methods', () => {
    expect(
      password({
        account: { hasPassword: true, mfaEnabled: true, emailProven: true },
        totpGiven: true,
        totpValid: true,
      }),
    ).toEqual({
      kind: 'allow',
      amr: ['pwd', 'otp', 'mfa'],
      exempted: false,
    });
  });
});

describe('attaching an SSO identity to an existing account', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const identity = 'con_acme:subject-digest';

  it('reclaims an account whose email was never proven', () => {
    expect(accountClaim(null, identity)).toEqual({ kind: 'reclaim' });
  });

  it('attaches to an account proven by code or by an IdP, leaving it as it is', () => {
    expect(accountClaim({ at, method: 'email_code' }, identity)).toEqual({ kind: 'attach' });
    expect(accountClaim({ at, method: 'sso', identityId: identity }, identity)).toEqual({ kind: 'attach' });
    expect(accountClaim({ at, method: 'sso', identityId: 'con_other:x' }, identity)).toEqual({
      kind: 'attach',
    });
  });

  it('finishes its own reclaim when a retry finds the proof already written', () => {
    expect(accountClaim({ at, method: 'sso_reclaim', identityId: identity }, identity)).toEqual({
      kind: 'finish_reclaim',
    });
  });

  it('does not redo a reclaim that another identity made', () => {
    expect(accountClaim({ at, method: 'sso_reclaim', identityId: 'con_other:x' }, identity)).toEqual({
      kind: 'attach',
    });
  });
});

describe('enforcement gate for email codes and social sign-in', () => {
  it('lets everything through when the domain is not enforced', () => {
    expect(enforcementRefusal({ clientTooOld: true })).toBeUndefined();
  });

  it('routes an enforced domain to its connection', () => {
    expect(enforcementRefusal({ enforcedDomain: { connectorId }, clientTooOld: false })).toEqual({
      kind: 'refuse',
      code: 'sso_required',
      connectorId,
    });
  });
});

describe('refusal errors', () => {
  it('carry the connection for sso_required', () => {
    const error = refusalError({ kind: 'refuse', code: 'sso_required', connectorId });
    expect(error.status).toBe(403);
    expect(error.extensions).toEqual({ connectorId });
  });

  it('carry the documented status for each refusal', () => {
    expect(refusalError({ kind: 'refuse', code: 'email_missing' }).status).toBe(422);
    expect(refusalError({ kind: 'refuse', code: 'client_upgrade_required' }).status).toBe(426);
    expect(refusalError({ kind: 'refuse', code: 'password_setup_required' }).status).toBe(409);
    expect(refusalError({ kind: 'refuse', code: 'mfa_required' }).status).toBe(401);
  });
});
