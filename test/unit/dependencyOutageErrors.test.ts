// A database or Temporal outage answers 503 try_again_later, never a bare 500: the errors are the
// drivers' own, produced against a port nothing listens on, so a driver upgrade that renames or
// rewraps them fails here.
import { Client, Connection } from '@temporalio/client';
import { MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { toProblem } from '../../api/middleware/errors';
import { freePorts } from '../../servers/ports';

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('dependency outages', () => {
  it('maps a MongoDB server that cannot be selected to 503 try_again_later', async () => {
    const [port] = await freePorts(1);
    const client = new MongoClient(`mongodb://127.0.0.1:${port}/?directConnection=true`, {
      serverSelectionTimeoutMS: 200,
    });
    try {
      const error = await caught(() => client.db('x').collection('y').findOne({}));
      expect((error as Error).name).toBe('MongoServerSelectionError');
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'try_again_later' });
    } finally {
      await client.close();
    }
  });

  it('maps a MongoDB server shutting down to 503, and keeps other server errors 500', () => {
    const shuttingDown = new MongoServerError({ message: 'shutdown in progress', code: 91 });
    expect(toProblem(shuttingDown)).toMatchObject({ status: 503, code: 'try_again_later' });
    const storageFailed = new MongoServerError({ message: 'internal error', code: 1 });
    expect(toProblem(storageFailed)).toMatchObject({ status: 503, code: 'try_again_later' });
    const duplicate = new MongoServerError({ message: 'E11000 duplicate key', code: 11000 });
    expect(toProblem(duplicate)).toMatchObject({ status: 500, code: 'internal_error' });
  });

  it('maps a Temporal frontend that does not answer to 503 try_again_later', async () => {
    const [port] = await freePorts(1);
    const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: '200ms' });
    const client = new Client({ connection });
    try {
      const error = await caught(() =>
        connection.withDeadline(Date.now() + 2_000, () =>
          client.workflow.start('nothing', { taskQueue: 'q', workflowId: 'w' }),
        ),
      );
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'try_again_later' });
    } finally {
      await connection.close();
    }
  });

  it('keeps an error of unknown kind a bare 500', () => {
    expect(toProblem(new Error('boom'))).toMatchObject({ status: 500, code: 'internal_error' });
  });
});
