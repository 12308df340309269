// Group commit (db/groupCommit.ts) on the real server: inserts that meet in one batch each get
// their own answer, as if each had been an insertOne.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDuplicateKeyError } from '../../db/collections';
import { groupInsert } from '../../db/groupCommit';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const event = (id: string, type = 'test.grouped') => ({
  _id: id,
  type,
  orgId: null,
  subjectId: null,
  at: new Date(),
  data: {},
});

describe('group commit', () => {
  it('writes every document of concurrent inserts, batched while one is in flight', async () => {
    const type = `test.grouped.${randomUUID()}`;
    const ids = Array.from({ length: 24 }, () => `evt_${randomUUID()}`);
    await Promise.all(ids.map((id) => groupInsert(stack.services.c.auditEvents, event(id, type))));
    expect(await stack.services.c.auditEvents.countDocuments({ type })).toBe(24);
  });

  it('gives a duplicate key to its own caller only: the rest of its batch is written', async () => {
    const type = `test.grouped.${randomUUID()}`;
    const taken = `evt_${randomUUID()}`;
    await stack.services.c.auditEvents.insertOne(event(taken, 'test.first'));
    const ids = Array.from({ length: 12 }, (_, i) => (i === 5 || i === 9 ? taken : `evt_${randomUUID()}`));
    const results = await Promise.allSettled(
      ids.map((id) => groupInsert(stack.services.c.auditEvents, event(id, type))),
    );
    const refused = results.flatMap((result, i) => (result.status === 'rejected' ? [i] : []));
    expect(refused).toEqual([5, 9]);
    for (const i of refused) {
      const result = results[i];
      expect(result?.status === 'rejected' && isDuplicateKeyError(result.reason)).toBe(true);
    }
    expect(await stack.services.c.auditEvents.countDocuments({ type })).toBe(10);
    expect(await stack.services.c.auditEvents.findOne({ _id: taken })).toMatchObject({ type: 'test.first' });
  });
});
