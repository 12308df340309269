// Newest-first listings in cursor pages (the audit log, sign-in diagnostics). Records sort by
// (at, _id) descending and a page continues strictly after the last record of the previous one,
// so records written meanwhile sort before the cursor: no page skips or repeats one.

/** A record's place in a newest-first listing. */
export interface PagePosition {
  at: Date;
  id: string;
}

/** The filter for the records after `position` in (at, _id) descending order. */
export function olderThan(position: PagePosition) {
  return { $or: [{ at: { $lt: position.at } }, { at: position.at, _id: { $lt: position.id } }] };
}

export const NEWEST_FIRST = { at: -1, _id: -1 } as const;
