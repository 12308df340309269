import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jitUserId } from '../../activities/identities';
import { ssoSignInWorkflowId } from '../../api/workflowClient';
import { createKeyRing, KEY_PURPOSES } from '../../security/keys';
import { tokenDigest } from '../../security/tokens';
import { decodeRelayState, encodeRelayState } from '../../sso/relayState';

const secret = () => randomBytes(32).toString('base64url');

describe('keys derived from SESSION_SECRET', () => {
  it('gives each purpose its own key, the same on every replica', () => {
    const value = secret();
    const ring = createKeyRing(value);
    const digests = KEY_PURPOSES.map((purpose) => tokenDigest('token', ring.current(purpose)));
    expect(new Set(digests).size).toBe(KEY_PURPOSES.length);
    expect(tokenDigest('token', createKeyRing(value).current('session'))).toBe(digests[0]);
    expect(tokenDigest('token', createKeyRing(secret()).current('session'))).not.toBe(digests[0]);
  });

  it('never uses the secret itself as a key', () => {
    const value = secret();
    const ring = createKeyRing(value);
    for (const purpose of KEY_PURPOSES)
      expect(ring.current(purpose).export().toString('utf8')).not.toBe(value);
  });

  it('makes values with the current secret and verifies with the previous ones too', () => {
    const [current, previous] = [secret(), secret()];
    const ring = createKeyRing(current, [previous]);
    const previousKey = createKeyRing(previous).current('api-key');
    expect(ring.current('api-key').equals(createKeyRing(current).current('api-key'))).toBe(true);
    expect(ring.verifying('api-key')).toHaveLength(2);
    expect(ring.verifying('api-key')[1]!.equals(previousKey)).toBe(true);
  });
});

describe('relay state keys', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  const later = new Date(now.getTime() + 60_000);
  const state = { returnTo: 'https://app.example.com/home', bindingDigest: 'digest' };

  it('accepts a relay state signed before a rotation while the old secret is listed as previous', () => {
    const [oldSecret, newSecret] = [secret(), secret()];
    const relayState = encodeRelayState('con_1', state, later, createKeyRing(oldSecret));
    expect(decodeRelayState(relayState, 'con_1', now, createKeyRing(newSecret, [oldSecret]))).toEqual(state);
    expect(decodeRelayState(relayState, 'con_1', now, createKeyRing(newSecret))).toBeUndefined();
  });

  it('refuses a relay state signed with another purpose key', () => {
    const ring = createKeyRing(secret());
    const [body] = encodeRelayState('con_1', state, later, ring).split('.');
    const forged = `${body}.${tokenDigest(body!, ring.current('session'))}`;
    expect(decodeRelayState(forged, 'con_1', now, ring)).toBeUndefined();
  });
});

describe('sign-in workflow IDs', () => {
  const email = 'ada@corp.example.com';

  it('carry a keyed digest of the subject: hashing a guessed email does not find them', () => {
    const ring = createKeyRing(secret());
    const id = ssoSignInWorkflowId(ring, 'con_1', email);
    expect(id).toBe(ssoSignInWorkflowId(ring, 'con_1', email));
    expect(id).not.toContain(email);
    expect(id).not.toContain(createHash('sha256').update(email).digest('base64url').slice(0, 16));
    expect(ssoSignInWorkflowId(createKeyRing(secret()), 'con_1', email)).not.toBe(id);
  });

  it('differ between connections for the same subject', () => {
    const ring = createKeyRing(secret());
    const first = ssoSignInWorkflowId(ring, 'con_1', email).replace('sso-sign-in-con_1-', '');
    const second = ssoSignInWorkflowId(ring, 'con_2', email).replace('sso-sign-in-con_2-', '');
    expect(first).not.toBe(second);
  });

  it('keys JIT user IDs, which Temporal shows, so a guessed email cannot be confirmed', () => {
    const email = 'ada@example.com';
    const [one, other] = [createKeyRing(secret()), createKeyRing(secret())];
    const id = jitUserId(one.current('user-id'), email);
    expect(id).toMatch(/^usr_[a-f0-9]{32}$/);
    expect(jitUserId(one.current('user-id'), email)).toBe(id);
    expect(jitUserId(other.current('user-id'), email)).not.toBe(id);
    const unkeyed = createHash('sha256').update(`jit:${email}`).digest('hex').slice(0, 32);
    expect(id).not.toBe(`usr_${unkeyed}`);
  });
});
