import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/db/group-commit.js';

/** A write that only finishes when the test lets it, and remembers every batch it got. */
function controlledWrite() {
  const batches: string[][] = [];
  const finishers: (() => void)[] = [];
  const write = (items: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      finishers.push(() =>
        items.includes('bad')
          ? reject(new Error('bad item'))
          : resolve(items.map((item) => item.toUpperCase())),
      );
    });
  const finishNext = async () => {
    finishers.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { batches, write, finishNext };
}

const byItself = (item: string) => item;

describe('GroupCommit', () => {
  it('writes an item at once while a write is free, and queues the rest for one shared write', async () => {
    const { batches, write, finishNext } = controlledWrite();
    const group = new GroupCommit(write, { maxInFlight: 1, maxBatch: 100, key: byItself });
    const first = group.submit('a');
    expect(batches).toEqual([['a']]);
    const others = ['b', 'c', 'd'].map((item) => group.submit(item));
    expect(batches).toHaveLength(1);
    await finishNext();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    await finishNext();
    expect(await first).toBe('A');
    expect(await Promise.all(others)).toEqual(['B', 'C', 'D']);
  });

  it('never runs more writes at once than maxInFlight, nor more items in one than maxBatch', async () => {
    const { batches, write, finishNext } = controlledWrite();
    let running = 0;
    let mostRunning = 0;
    const counted = async (items: string[]) => {
      mostRunning = Math.max(mostRunning, ++running);
      try {
        return await write(items);
      } finally {
        running--;
      }
    };
    const group = new GroupCommit(counted, { maxInFlight: 2, maxBatch: 3, key: byItself });
    const items = 'abcdefghij'.split('');
    const answers = Promise.all(items.map((item) => group.submit(item)));
    expect(batches).toEqual([['a'], ['b']]);
    await finishNext();
    expect(batches[2]).toEqual(['c', 'd', 'e']);
    while (batches.flat().length < items.length || running > 0) await finishNext();
    expect(await answers).toEqual(items.map((item) => item.toUpperCase()));
    expect(mostRunning).toBe(2);
    expect(batches.map((batch) => batch.length)).toEqual([1, 1, 3, 3, 2]);
  });

  it('keeps two items with the same key out of one write, in their order', async () => {
    const { batches, write, finishNext } = controlledWrite();
    const group = new GroupCommit(write, { maxInFlight: 1, maxBatch: 100, key: (item) => item[0]! });
    const answers = Promise.all(['x1', 'a1', 'a2', 'b1', 'a3'].map((item) => group.submit(item)));
    for (let i = 0; i < 5; i++) await finishNext();
    expect(await answers).toEqual(['X1', 'A1', 'A2', 'B1', 'A3']);
    expect(batches).toEqual([['x1'], ['a1', 'b1'], ['a2'], ['a3']]);
  });

  it('a failing write fails only the item that caused it: the others are written on their own', async () => {
    const { batches, write, finishNext } = controlledWrite();
    const group = new GroupCommit(write, { maxInFlight: 1, maxBatch: 100, key: byItself });
    const first = group.submit('first');
    const mixed = ['good', 'bad', 'fine'].map((item) =>
      group.submit(item).catch((error: Error) => error.message),
    );
    for (let i = 0; i < 6; i++) await finishNext();
    expect(await first).toBe('FIRST');
    expect(await Promise.all(mixed)).toEqual(['GOOD', 'bad item', 'FINE']);
    expect(batches).toEqual([['first'], ['good', 'bad', 'fine'], ['good'], ['bad'], ['fine']]);
  });

  it('answers every item exactly once with its own result, whatever the timing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'bad'), { maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        async (items, maxInFlight, maxBatch) => {
          const written: string[][] = [];
          const write = async (batch: string[]) => {
            written.push(batch);
            await new Promise((resolve) => setImmediate(resolve));
            if (batch.includes('bad')) throw new Error('bad item');
            return batch.map((item) => `${item}!`);
          };
          const group = new GroupCommit(write, { maxInFlight, maxBatch, key: byItself });
          const answers = await Promise.all(
            items.map((item) => group.submit(item).catch((error: Error) => error.message)),
          );
          expect(answers).toEqual(items.map((item) => (item === 'bad' ? 'bad item' : `${item}!`)));
          for (const batch of written) {
            expect(batch.length).toBeLessThanOrEqual(maxBatch);
            expect(new Set(batch).size).toBe(batch.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
