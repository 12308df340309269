import { describe, expect, it } from 'vitest';
import {
  certificateChange,
  daysLeft,
  dueExpiryNotice,
  hasSuccessor,
  type ExpiryNotice,
} from '../../domain/certificateExpiry';

const NOW = new Date('2026-11-27T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(NOW.getTime() + ms);

describe('daysLeft', () => {
  it.each([
    ['a year away', 365 * DAY, 365],
    ['10 days and an hour away', 10 * DAY + HOUR, 10],
    ['just under 10 days away', 10 * DAY - 1, 9],
    ['an hour away (its last day)', HOUR, 0],
    ['exactly now', 0, 0],
    ['an hour ago', -HOUR, -1],
    ['three days ago', -3 * DAY, -3],
  ])('counts whole days until notAfter: %s', (_case, offset, expected) => {
    expect(daysLeft(at(offset), NOW)).toBe(expected);
  });
});

describe('dueExpiryNotice: 30, 14 and 7 days before, then once expired', () => {
  it.each<[string, number, ExpiryNotice | null]>([
    ['a year left', 365 * DAY, null],
    ['31 days left', 31 * DAY + HOUR, null],
    ['30 days left', 30 * DAY + HOUR, 30],
    ['15 days left', 15 * DAY + HOUR, 30],
    ['14 days left', 14 * DAY + HOUR, 14],
    ['10 days left (first seen late: no stale 30-day notice)', 10 * DAY + HOUR, 14],
    ['8 days left', 8 * DAY + HOUR, 14],
    ['7 days left', 7 * DAY + HOUR, 7],
    ['its last day', HOUR, 7],
    ['exactly at notAfter (still valid)', 0, 7],
    ['a second past notAfter', -1000, 'expired'],
    ['expired long ago', -400 * DAY, 'expired'],
  ])('%s', (_case, offset, expected) => {
    expect(dueExpiryNotice(at(offset), NOW)).toBe(expected);
  });
});

describe('hasSuccessor', () => {
  const old = { sha256: 'AA', notAfter: at(5 * DAY) };
  it('is true when another certificate stays valid longer', () => {
    expect(hasSuccessor(old, [old, { sha256: 'BB', notAfter: at(400 * DAY) }])).toBe(true);
  });
  it('is false for the only certificate, or when the others end sooner', () => {
    expect(hasSuccessor(old, [old])).toBe(false);
    expect(hasSuccessor(old, [old, { sha256: 'BB', notAfter: at(DAY) }])).toBe(false);
  });
});

describe('certificateChange: the IdP listing decides, an empty one changes nothing', () => {
  it.each<[string, string[], string[], { added: string[]; removed: string[] }]>([
    ['same listing', ['A'], ['A'], { added: [], removed: [] }],
    ['a new certificate is added, the old kept', ['A'], ['A', 'B'], { added: ['B'], removed: [] }],
    ['the old one is dropped once no longer listed', ['A', 'B'], ['B'], { added: [], removed: ['A'] }],
    ['replaced at once', ['A'], ['B'], { added: ['B'], removed: ['A'] }],
    ['an empty listing keeps what is there', ['A', 'B'], [], { added: [], removed: [] }],
  ])('%s', (_case, current, listed, expected) => {
    expect(certificateChange(current, listed)).toEqual(expected);
  });
});
