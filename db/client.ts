import { MongoClient, type Db } from 'mongodb';

export interface Mongo {
  client: MongoClient;
  db: Db;
}

export async function connectMongo(uri: string, dbName: string): Promise<Mongo> {
  // Short server selection so /readyz and startup report a down database quickly instead of hanging.
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, appName: 'sso-provisioning' });
  await client.connect();
  return { client, db: client.db(dbName) };
}

export async function pingMongo(db: Db): Promise<void> {
  await db.command({ ping: 1 });
}
