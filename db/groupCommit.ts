// Group commit for the hot inserts of a sign-in (sessions, diagnostics, audit events): while one
// insert into a collection is on its way, the inserts that arrive meanwhile wait and then go
// together in one unordered insertMany. On FerretDB's SQLite backend every write takes the one
// database write lock, so eight concurrent sign-ins queue for it eight times; a batch of eight
// documents costs about what one insert costs. Each caller still gets its own answer: a
// duplicate key or another write error of its document, mapped back by the batch's index, and
// the whole batch's failure (a connection lost) for everyone in it.
import {
  MongoBulkWriteError,
  MongoServerError,
  type Collection,
  type Document,
  type OptionalUnlessRequiredId,
} from 'mongodb';

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

/**
 * How long a batch holds the next one back. A write normally answers in milliseconds; one that
 * hangs (a frozen server) must not hold every later insert of the collection behind it, so after
 * this the next batch goes on its own connection, as a separate insertOne would have.
 */
const STALL_MS = 250;

function groupedInserter<T extends Document>(collection: Collection<T>): Insert<T> {
  let queue: Waiting<T>[] = [];
  let writing = false;
  const send = (batch: readonly Waiting<T>[]): Promise<void> =>
    collection
      .insertMany(
        batch.map((waiting) => waiting.doc),
        { ordered: false },
      )
      .then(
        () => batch.forEach((waiting) => waiting.resolve()),
        (error: unknown) => settleFailed(batch, error),
      );
  const drain = async () => {
    writing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      let stalled: NodeJS.Timeout | undefined;
      await Promise.race([
        send(batch),
        new Promise<void>((resolve) => {
          stalled = setTimeout(resolve, STALL_MS);
          stalled.unref();
        }),
      ]);
      clearTimeout(stalled);
    }
    writing = false;
  };
  return (doc) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ doc, resolve, reject });
      if (!writing) void drain();
    });
}

/**
 * The error an insertMany failed with as insertOne would have thrown it: the driver wraps a
 * connection or server-selection error of a bulk write in a MongoBulkWriteError without write
 * errors, which would hide "the database is down" (a 503) behind a server error (a 500).
 */
export function unwrapBulkError(error: unknown): unknown {
  if (!(error instanceof MongoBulkWriteError)) return error;
  const writeErrors: unknown = error.writeErrors;
  if (Array.isArray(writeErrors) && writeErrors.length > 0) return error;
  const cause: unknown = error.errorResponse;
  return cause instanceof Error ? cause : error;
}

function settleFailed<T extends Document>(batch: readonly Waiting<T>[], error: unknown): void {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  if (!Array.isArray(writeErrors) || writeErrors.length === 0) {
    const cause = unwrapBulkError(error);
    batch.forEach((waiting) => waiting.reject(cause));
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
