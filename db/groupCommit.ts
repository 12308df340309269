// Group commit for the hot inserts of a sign-in (sessions, diagnostics, audit events): while one
// insert into a collection is on its way, the inserts that arrive meanwhile wait and then go
// together in one unordered insertMany. On FerretDB's SQLite backend every write takes the one
// database write lock, so eight concurrent sign-ins queue for it eight times; a batch of eight
// documents costs about what one insert costs. Each caller still gets its own answer: a
// duplicate key or another write error of its document, mapped back by the batch's index, and
// the whole batch's failure (a connection lost) for everyone in it.
import { MongoServerError, type Collection, type Document, type OptionalUnlessRequiredId } from 'mongodb';

interface Waiting<T extends Document> {
  doc: OptionalUnlessRequiredId<T>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface BatchWriteError {
  index: number;
  code?: number;
  errmsg?: string;
}

type Insert<T extends Document> = (doc: OptionalUnlessRequiredId<T>) => Promise<void>;

const inserters = new WeakMap<Collection<Document>, Insert<Document>>();

/** Inserts `doc` into `collection`, in the next batch of that collection (see above). */
export function groupInsert<T extends Document>(
  collection: Collection<T>,
  doc: OptionalUnlessRequiredId<T>,
): Promise<void> {
  const key = collection as unknown as Collection<Document>;
  let insert = inserters.get(key);
  if (!insert) {
    insert = groupedInserter(key);
    inserters.set(key, insert);
  }
  return insert(doc);
}

function groupedInserter<T extends Document>(collection: Collection<T>): Insert<T> {
  let queue: Waiting<T>[] = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await collection.insertMany(
          batch.map((waiting) => waiting.doc),
          { ordered: false },
        );
        batch.forEach((waiting) => waiting.resolve());
      } catch (error) {
        settleFailed(batch, error);
      }
    }
    writing = false;
  };
  return (doc) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ doc, resolve, reject });
      if (!writing) void drain();
    });
}

function settleFailed<T extends Document>(batch: readonly Waiting<T>[], error: unknown): void {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  if (!Array.isArray(writeErrors) || writeErrors.length === 0) {
    batch.forEach((waiting) => waiting.reject(error));
    return;
  }
  const failed = new Map<number, BatchWriteError>(
    (writeErrors as BatchWriteError[]).map((writeError) => [writeError.index, writeError]),
  );
  batch.forEach((waiting, index) => {
    const writeError = failed.get(index);
    if (!writeError) return waiting.resolve();
    // This document's own error, shaped as insertOne would have thrown it (code 11000 and all).
    waiting.reject(
      new MongoServerError({ message: writeError.errmsg ?? 'write error', code: writeError.code }),
    );
  });
}
