// The MongoDB-protocol server the tests and `npm run dev` run is a patched FerretDB build where no
// mongod is installed (servers/versions.ts): its queries are narrowed in SQL by `_id` and by
// top-level string equalities. A narrowing must never drop a document the filter matches, so
// these are the answers MongoDB gives, for the values that could trip a textual comparison.
import { randomUUID } from 'node:crypto';
import { MongoClient, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

interface Doc {
  _id: string;
  email?: unknown;
  kind: string;
  n?: number;
}

const STRINGS = [
  'a<b>&c@x.com',
  'é@x.com',
  '日本@x.com',
  'q\u2028z',
  'tab\tq',
  'quote"q',
  'back\\slash',
  '[x',
  '\\',
  '',
];

let client: MongoClient;
let docs: Collection<Doc>;

beforeAll(async () => {
  client = await MongoClient.connect(inject('mongoUri'));
  docs = client.db(`queries_${randomUUID().slice(0, 8)}`).collection<Doc>('docs');
  await docs.createIndex({ email: 1 });
  await docs.insertMany([
    ...STRINGS.map((email, i) => ({ _id: `s${i}`, email, kind: 'string' })),
    { _id: 'array', email: ['in-array@x.com', 'other'], kind: 'array' },
    { _id: 'number', email: 5, kind: 'number' },
    { _id: 'object', email: { address: 'in-object@x.com' }, kind: 'object' },
    { _id: 'missing', kind: 'missing' },
  ]);
});

afterAll(async () => {
  await client?.db(docs.dbName).dropDatabase();
  await client?.close();
});

const ids = async (filter: Parameters<Collection<Doc>['find']>[0]) =>
  (await docs.find(filter).toArray()).map((doc) => doc._id).sort();

describe('queries on the MongoDB-protocol server', () => {
  it('finds every string by equality, whatever characters it holds', async () => {
    for (const [i, email] of STRINGS.entries()) expect(await ids({ email })).toEqual([`s${i}`]);
  });

  it('matches a string inside an array, as MongoDB does, and not inside an object', async () => {
    expect(await ids({ email: 'in-array@x.com' })).toEqual(['array']);
    expect(await ids({ email: 'in-array@x.com', kind: 'array' })).toEqual(['array']);
    expect(await ids({ email: 'in-object@x.com' })).toEqual([]);
  });

  it('narrows by _id and by the other fields together', async () => {
    expect(await ids({ _id: 's0', kind: 'string' })).toEqual(['s0']);
    expect(await ids({ _id: 's0', kind: 'array' })).toEqual([]);
    expect(await ids({ kind: 'string', email: 'é@x.com' })).toEqual(['s1']);
    expect(await ids({ _id: { $in: ['s0', 's1', 'absent'] } })).toEqual(['s0', 's1']);
    expect(await ids({ _id: { $in: ['s0', 'array'] }, kind: 'array' })).toEqual(['array']);
  });

  it('counts, updates and deletes what the same filters match', async () => {
    expect(await docs.countDocuments({ kind: 'string' })).toBe(STRINGS.length);
    expect((await docs.updateMany({ kind: 'string' }, { $set: { n: 1 } })).modifiedCount).toBe(
      STRINGS.length,
    );
    expect((await docs.findOneAndUpdate({ email: 'in-array@x.com' }, { $set: { n: 2 } }))?._id).toBe('array');
    expect((await docs.deleteMany({ kind: 'missing' })).deletedCount).toBe(1);
    expect(await ids({ n: 1 })).toHaveLength(STRINGS.length);
  });
});
