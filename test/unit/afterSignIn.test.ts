import { describe, expect, it } from 'vitest';
import { afterSignIn } from '../../api/services/afterSignIn';

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('afterSignIn: the records of a success are written alongside the session', () => {
  it('starts the session while the records are still being written, and answers after all of them', async () => {
    const after = afterSignIn();
    const order: string[] = [];
    after.defer(later(30).then(() => void order.push('diagnostic')));
    after.defer(later(10).then(() => void order.push('audit')));
    const token = await after.alongside(async () => {
      order.push('session started');
      await later(20);
      order.push('session');
      return 'token';
    });
    expect(token).toBe('token');
    expect(order).toEqual(['session started', 'audit', 'session', 'diagnostic']);
  });

  it("answers the session's failure, only after the records are written", async () => {
    const after = afterSignIn();
    let recorded = false;
    after.defer(later(20).then(() => void (recorded = true)));
    await expect(
      after.alongside(async () => {
        await later(1);
        throw new Error('session store down');
      }),
    ).rejects.toThrow('session store down');
    expect(recorded).toBe(true);
  });

  it('with nothing deferred, is the session alone', async () => {
    await expect(afterSignIn().alongside(() => Promise.resolve(7))).resolves.toBe(7);
  });
});
