import { createIORedisClient } from 'bullmq';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RedisProviderRateLimit } from '../../src/jobs/provider-rate-limit.js';

/**
 * The shared limiter against real Redis. Reservations are instant and name their slot in Redis's
 * clock, so these tests check the schedule itself, never how long anything took.
 */

const connections: Redis[] = [];
/** A worker process of its own: its own Redis connection, the shared key. */
function workerLimit(key: string, requestsPerSecond: number) {
  const redis = new Redis(inject('redisUrl'));
  connections.push(redis);
  const client = createIORedisClient(redis);
  return new RedisProviderRateLimit(async () => client, key, requestsPerSecond);
}
afterAll(() => {
  for (const redis of connections) redis.disconnect();
});

const uniqueKey = (name: string) => `test-provider-rate:${name}:${Date.now()}:${Math.random()}`;

/** The provider's side, as bench/fake-resend-counting.ts does it: N tokens, refilled at N/s, full at the start. */
function providerRejections(arrivalsMicros: number[], requestsPerSecond: number): number {
  const sorted = [...arrivalsMicros].sort((a, b) => a - b);
  let tokens = requestsPerSecond;
  let last = sorted[0]!;
  let rejected = 0;
  for (const at of sorted) {
    tokens = Math.min(requestsPerSecond, tokens + ((at - last) / 1e6) * requestsPerSecond);
    last = at;
    if (tokens >= 1) tokens -= 1;
    else rejected++;
  }
  return rejected;
}

describe('the provider rate limit shared by all workers (Redis)', () => {
  it('hands out slots that the provider accepts even when each request arrives up to one interval late', async () => {
    const rate = 5;
    const key = uniqueKey('pace');
    const workers = [workerLimit(key, rate), workerLimit(key, rate)];
    // Two processes asking at once, ten requests in flight each.
    const slots = (
      await Promise.all(
        Array.from({ length: 40 }, (_, index) => workers[index % 2]!.reserve().then((r) => r.slotMicros)),
      )
    ).sort((a, b) => a - b);
    const interval = 1e6 / rate;
    // A limit, not a suggestion: 40 requests at 5/s with a burst of 4 span at least 36 intervals.
    expect(slots.at(-1)! - slots[0]!).toBeGreaterThanOrEqual((40 - (rate - 1)) * interval);
    expect(providerRejections(slots, rate)).toBe(0);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: interval - 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
        (late) =>
          providerRejections(
            slots.map((slot, index) => slot + late[index]!),
            rate,
          ) === 0,
      ),
    );
  });

  it('lets a burst of one request less than the limit go at once after a quiet spell', async () => {
    const limit = workerLimit(uniqueKey('burst'), 5);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push((await limit.reserve()).waitMicros);
    expect(waits).toEqual([0, 0, 0, 0]);
  });

  it('holds every worker back for as long as the provider asked, then paces again', async () => {
    const key = uniqueKey('pause');
    const [first, second] = [workerLimit(key, 5), workerLimit(key, 5)];
    const [seconds, micros] = await connections[0]!.time();
    const before = Number(seconds) * 1e6 + Number(micros);
    await first!.pause(1_500);
    const slots = [(await second!.reserve()).slotMicros, (await first!.reserve()).slotMicros];
    expect(slots[0]).toBeGreaterThanOrEqual(before + 1_500_000);
    expect(slots[1]! - slots[0]!).toBeGreaterThanOrEqual(200_000);
  });
});
