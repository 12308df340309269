// The opaque cursor of a newest-first page (db/newestFirst.ts): the time and ID of the page's
// last record. Clients only pass back what nextCursor gave them; anything else is refused.
import type { PagePosition } from '../db/newestFirst';
import { DomainError } from '../domain/errors';

export function encodePageCursor(last: { at: Date; _id: string }): string {
  return Buffer.from(JSON.stringify([last.at.getTime(), last._id])).toString('base64url');
}

export function decodePageCursor(cursor: string): PagePosition {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'number' && Number.isFinite(at) && typeof id === 'string')
      return { at: new Date(at), id };
  } catch {
    // Falls through to the refusal below.
  }
  throw new DomainError('validation_failed', 'The cursor is not one this API gave', {
    errors: [{ path: 'cursor', message: 'not a cursor from nextCursor' }],
  });
}
