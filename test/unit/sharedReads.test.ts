import { describe, expect, it } from 'vitest';
import { sharedReader } from '../../db/sharedReads';

/** A read whose answers the test releases one by one, recording when each read started. */
function controlledRead() {
  const started: { key: string; answer: (value: string) => void; fail: (error: Error) => void }[] = [];
  const read = (key: string) =>
    new Promise<string>((resolve, reject) => started.push({ key, answer: resolve, fail: reject }));
  return { read, started };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('shared reads', () => {
  it('answers callers that arrive during a read from the next read, not from the one on its way', async () => {
    const { read, started } = controlledRead();
    const shared = sharedReader(read);

    const first = shared('con_1');
    // The document changes, then more callers arrive while the first read is on its way.
    const later = Array.from({ length: 7 }, () => shared('con_1'));
    expect(started).toHaveLength(1);

    started[0]!.answer('before the change');
    await tick();
    expect(await first).toBe('before the change');
    // The next read started only once the first had ended, and serves all seven.
    expect(started).toHaveLength(2);
    started[1]!.answer('after the change');
    expect(await Promise.all(later)).toEqual(Array(7).fill('after the change'));
  });

  it('starts afresh once nothing is on its way, and keeps keys apart', async () => {
    const { read, started } = controlledRead();
    const shared = sharedReader(read);

    const a = shared('con_a');
    const b = shared('con_b');
    expect(started.map((s) => s.key)).toEqual(['con_a', 'con_b']);
    started[0]!.answer('A');
    started[1]!.answer('B');
    expect([await a, await b]).toEqual(['A', 'B']);
    await tick();

    const again = shared('con_a');
    expect(started).toHaveLength(3);
    started[2]!.answer('A again');
    expect(await again).toBe('A again');
  });

  it('gives a failed read to the callers it answers, and the next read to the ones after', async () => {
    const { read, started } = controlledRead();
    const shared = sharedReader(read);

    const first = shared('con_1');
    const second = shared('con_1');
    started[0]!.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    started[1]!.answer('found');
    expect(await second).toBe('found');
  });
});
