// Concurrent reads of one document share round trips without ever answering from before their
// caller arrived. A read that finds the same read already on its way does not take that one's
// answer (it may predate the caller's request); it waits for the next read, which starts as soon
// as the one on its way ends and answers every caller that arrived in between. A login wave of
// one organization then reads its connection and organization about once per round trip instead
// of once per sign-in, and a connection deleted before a sign-in arrived still refuses it.
import type { Collection, Filter, WithId } from 'mongodb';

interface Waiting<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

/** `read`, shared between concurrent callers with the same key as described above. */
export function sharedReader<T>(read: (key: string) => Promise<T>): (key: string) => Promise<T> {
  // Per key with a read on its way: the callers waiting for the next read, if any.
  const onTheirWay = new Map<string, Waiting<T> | undefined>();

  const start = (key: string): Promise<T> => {
    onTheirWay.set(key, undefined);
    const result = read(key);
    const done = () => {
      const next = onTheirWay.get(key);
      if (!next) {
        onTheirWay.delete(key);
        return;
      }
      start(key).then(next.resolve, next.reject);
    };
    result.then(done, done);
    return result;
  };

  return (key) => {
    if (!onTheirWay.has(key)) return start(key);
    let next = onTheirWay.get(key);
    if (!next) {
      let resolve!: (value: T) => void;
      let reject!: (reason: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      next = { promise, resolve, reject };
      onTheirWay.set(key, next);
    }
    return next.promise;
  };
}

const byIdReaders = new WeakMap<object, (id: string) => Promise<unknown>>();

/** `collection.findOne({_id})`, shared between concurrent callers as described above. */
export function findByIdShared<T extends { _id: string }>(
  collection: Collection<T>,
  id: string,
): Promise<WithId<T> | null> {
  let reader = byIdReaders.get(collection);
  if (!reader) {
    reader = sharedReader((key) => collection.findOne({ _id: key } as Filter<T>));
    byIdReaders.set(collection, reader);
  }
  return reader(id) as Promise<WithId<T> | null>;
}
