import {
  MongoClient,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  type Db,
} from 'mongodb';

export interface Mongo {
  client: MongoClient;
  db: Db;
}

/** Five seconds unless MONGODB_URI says otherwise (`?serverSelectionTimeoutMS=`; tests use less). */
const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5_000;

export async function connectMongo(uri: string, dbName: string): Promise<Mongo> {
  // Short server selection so /readyz, startup and requests report a down database in seconds
  // instead of the driver's 30 s. The driver lets options given here win over the URI's, so the
  // default is only set when the URI carries none.
  const uriSetsTimeout = /[?&]serverSelectionTimeoutMS=/i.test(uri);
  const client = new MongoClient(uri, {
    ...(uriSetsTimeout ? {} : { serverSelectionTimeoutMS: DEFAULT_SERVER_SELECTION_TIMEOUT_MS }),
    appName: 'sso-provisioning',
  });
  await client.connect();
  return { client, db: client.db(dbName) };
}

export async function pingMongo(db: Db): Promise<void> {
  await db.command({ ping: 1 });
}

/**
 * Server error codes meaning "the server is going away or cannot serve now" (the driver's own
 * retryable set): HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
 * PrimarySteppedDown, SocketException, NotWritablePrimary, InterruptedAtShutdown,
 * InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary; and
 * InternalError (1), which FerretDB answers when its storage fails under load: the server's
 * trouble, not the request's, and every write here is idempotent, so a repeat is safe.
 */
const UNAVAILABLE_SERVER_CODES: ReadonlySet<unknown> = new Set([
  1, 6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436,
]);

/**
 * Whether `error` says the database cannot be reached right now (no server selected, a
 * connection cut, a cleared pool, a server shutting down), as opposed to a bad query or a
 * duplicate key: the first is "try again later", the second a bug or a conflict.
 */
export function isMongoUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    (error instanceof MongoServerError && UNAVAILABLE_SERVER_CODES.has(error.code))
  );
}
