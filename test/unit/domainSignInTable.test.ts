// The whole sign-in table (domain/signInPolicy.ts decideSignIn): every method against every
// combination of enforcement, domain verification, connection state, break-glass exemption and
// TOTP enrollment, for a proven account whose credential is right.
import { describe, expect, it } from 'vitest';
import { asConnectorId } from '../../domain/ids';
import { decideSignIn, type SignInFacts, type SignInMethod } from '../../domain/signInPolicy';

const connectorId = asConnectorId('con_acme');
const bools = [false, true] as const;
const methods: SignInMethod[] = ['password', 'email_code', 'sso'];

interface Row {
  method: SignInMethod;
  enforced: boolean;
  verified: boolean;
  active: boolean;
  exempt: boolean;
  mfa: boolean;
}

const rows: Row[] = methods.flatMap((method) =>
  bools.flatMap((enforced) =>
    bools.flatMap((verified) =>
      bools.flatMap((active) =>
        bools.flatMap((exempt) => bools.map((mfa) => ({ method, enforced, verified, active, exempt, mfa }))),
      ),
    ),
  ),
);

function facts(row: Row, extra: Partial<SignInFacts> = {}): SignInFacts {
  return {
    method: row.method,
    connection: {
      connectorId,
      enforced: row.enforced,
      status: row.active ? 'active' : 'deleting',
      domainVerified: row.verified,
    },
    clientTooOld: false,
    account: { emailProven: true, hasPassword: true, mfaEnabled: row.mfa, exempt: row.exempt },
    credentialValid: true,
    ...extra,
  };
}

const name = (row: Row) =>
  `${row.method}, ${row.enforced ? 'enforced' : 'not enforced'}, domain ${row.verified ? 'verified' : 'unverified'}, ` +
  `connection ${row.active ? 'active' : 'deleting'}, ${row.exempt ? 'exempt' : 'not exempt'}, ` +
  `${row.mfa ? 'TOTP enrolled' : 'no TOTP'}`;

/** Enforcement holds only for an enforced, active connection whose domain is still verified. */
const enforcing = (row: Row) => row.enforced && row.verified && row.active;
const first = (row: Row) => (row.method === 'password' ? 'pwd' : 'otp');

describe('the sign-in table, with the right credential and no TOTP code given', () => {
  it.each(rows.map((row) => [name(row), row] as const))('%s', (_, row) => {
    const decision = decideSignIn(facts(row));
    if (row.method === 'sso') {
      // SSO: a deleting connection refuses; otherwise in, and the local second factor never asked.
      expect(decision).toEqual(
        row.active
          ? { kind: 'allow', amr: ['sso'], exempted: false }
          : { kind: 'refuse', code: 'connector_deleting' },
      );
    } else if (enforcing(row) && !(row.exempt && row.mfa)) {
      // Exemption needs TOTP: without it a break-glass account is enforced like any other.
      expect(decision).toEqual({ kind: 'refuse', code: 'sso_required', connectorId });
    } else if (row.mfa) {
      expect(decision).toEqual({ kind: 'refuse', code: 'mfa_required' });
    } else {
      expect(decision).toEqual({ kind: 'allow', amr: [first(row)], exempted: false });
    }
  });
});

describe('the sign-in table, with a valid TOTP code', () => {
  it.each(rows.filter((row) => row.mfa).map((row) => [name(row), row] as const))('%s', (_, row) => {
    const decision = decideSignIn(facts(row, { totp: { valid: true } }));
    if (row.method === 'sso') return expect(decision.kind).toBe(row.active ? 'allow' : 'refuse');
    if (enforcing(row) && !row.exempt)
      return expect(decision).toEqual({ kind: 'refuse', code: 'sso_required', connectorId });
    // A break-glass sign-in is flagged, so the caller audits it.
    expect(decision).toEqual({
      kind: 'allow',
      amr: [...new Set([first(row), 'otp', 'mfa'])],
      exempted: enforcing(row),
    });
  });
});

describe('the sign-in table, edges', () => {
  const enforcedExempt: Row = {
    method: 'password',
    enforced: true,
    verified: true,
    active: true,
    exempt: true,
    mfa: true,
  };

  it('does not reveal a break-glass account to a wrong credential', () => {
    for (const method of ['password', 'email_code'] as const)
      expect(decideSignIn(facts({ ...enforcedExempt, method }, { credentialValid: false }))).toEqual({
        kind: 'refuse',
        code: 'sso_required',
        connectorId,
      });
  });

  it('refuses a wrong TOTP code of a break-glass account', () => {
    expect(decideSignIn(facts(enforcedExempt, { totp: { valid: false } }))).toEqual({
      kind: 'refuse',
      code: 'mfa_invalid',
    });
  });

  it('asks outdated desktops to upgrade on every method once enforced, exempt or not', () => {
    for (const method of methods)
      expect(decideSignIn(facts({ ...enforcedExempt, method }, { clientTooOld: true }))).toEqual({
        kind: 'refuse',
        code: 'client_upgrade_required',
      });
  });

  it('leaves outdated desktops alone where nothing is enforced', () => {
    for (const method of methods)
      expect(
        decideSignIn(
          facts({ ...enforcedExempt, method, enforced: false, mfa: false }, { clientTooOld: true }),
        ),
      ).toMatchObject({ kind: 'allow' });
  });

  it('answers unknown emails like a wrong credential, per method, outside enforcement', () => {
    const open: Row = { ...enforcedExempt, enforced: false };
    expect(decideSignIn({ ...facts(open), account: undefined })).toEqual({
      kind: 'refuse',
      code: 'invalid_credentials',
    });
    expect(decideSignIn({ ...facts({ ...open, method: 'email_code' }), account: undefined })).toEqual({
      kind: 'refuse',
      code: 'email_code_invalid',
    });
  });

  it('lets an email code open an unproven account (the code proves the mailbox), but not a password', () => {
    const open: Row = { ...enforcedExempt, enforced: false, mfa: false };
    const unproven = { emailProven: false, hasPassword: true, mfaEnabled: false, exempt: false };
    expect(decideSignIn({ ...facts({ ...open, method: 'email_code' }), account: unproven })).toEqual({
      kind: 'allow',
      amr: ['otp'],
      exempted: false,
    });
    expect(decideSignIn({ ...facts(open), account: unproven })).toEqual({
      kind: 'refuse',
      code: 'email_unverified',
    });
  });

  it('signs in by email code an account that has no password', () => {
    const open: Row = { ...enforcedExempt, method: 'email_code', enforced: false, mfa: false };
    expect(
      decideSignIn({
        ...facts(open),
        account: { emailProven: true, hasPassword: false, mfaEnabled: false, exempt: false },
      }),
    ).toMatchObject({ kind: 'allow' });
  });

  it('refuses SSO without a connection as one being deleted', () => {
    expect(decideSignIn({ method: 'sso', clientTooOld: false, credentialValid: true })).toEqual({
      kind: 'refuse',
      code: 'connector_deleting',
    });
  });
});
