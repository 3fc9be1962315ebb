/** The part of BullMQ's Redis client (IRedisClient) that the limiter uses: its Lua scripts. */
export interface ScriptClient {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  runCommand(name: string, args: (string | number)[]): Promise<unknown>;
}

/** Paces requests to the email provider across every worker process. */
export interface ProviderRateLimit {
  /** Waits for this request's turn; call it right before the HTTP request. */
  acquire(): Promise<void>;
  /** The provider said "slow down": nobody sends for `ms`, then requests are paced again. */
  pause(ms: number): Promise<void>;
}

const RESERVE_COMMAND = 'thuispostProviderRateReserve';
const PAUSE_COMMAND = 'thuispostProviderRatePause';

/**
 * A reservation in the shared schedule (GCRA): `tat` is the theoretical arrival time of the next
 * request; a request may go `tolerance` before it (the burst), else it is given the moment it
 * may go. Times in microseconds from Redis's clock, the one clock every worker shares.
 * Returns { wait µs, slot µs }.
 */
const RESERVE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local slot = math.max(tat - tolerance, now)
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1000)
return { slot - now, slot }
`;

/** Moves `tat` so that the next slot is no earlier than `ms` from now (and paced from there). */
const PAUSE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tolerance = tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]) * 1000 + tolerance)
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return tat
`;

/**
 * A token bucket in Redis shared by every worker, taken right before each HTTP request. BullMQ's
 * own limiter counts job starts instead: a job that starts, then spends time in Postgres before
 * its request, leaves part of each second's budget unused.
 *
 * The bucket holds one request less than the provider's (`requestsPerSecond − 1`, at least 1): a
 * request reaches the provider a little after its turn here, and that spare token absorbs the
 * difference when one request travels slower than the next.
 */
export class RedisProviderRateLimit implements ProviderRateLimit {
  private readonly intervalMicros: number;
  private readonly toleranceMicros: number;
  private readonly prepared = new WeakSet<ScriptClient>();

  constructor(
    private readonly client: () => Promise<ScriptClient>,
    private readonly key: string,
    requestsPerSecond: number,
  ) {
    this.intervalMicros = Math.ceil(1_000_000 / requestsPerSecond);
    const burst = Math.max(1, Math.floor(requestsPerSecond) - 1);
    this.toleranceMicros = (burst - 1) * this.intervalMicros;
  }

  private async redis(): Promise<ScriptClient> {
    const client = await this.client();
    if (!this.prepared.has(client)) {
      client.defineCommand(RESERVE_COMMAND, { numberOfKeys: 1, lua: RESERVE });
      client.defineCommand(PAUSE_COMMAND, { numberOfKeys: 1, lua: PAUSE });
      this.prepared.add(client);
    }
    return client;
  }

  /** Takes the next slot of the schedule; returns it (µs, Redis clock) and how long until it. */
  async reserve(): Promise<{ waitMicros: number; slotMicros: number }> {
    const [waitMicros, slotMicros] = (await (
      await this.redis()
    ).runCommand(RESERVE_COMMAND, [this.key, this.intervalMicros, this.toleranceMicros])) as [number, number];
    return { waitMicros, slotMicros };
  }

  async acquire(): Promise<void> {
    const { waitMicros } = await this.reserve();
    if (waitMicros > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMicros / 1000)));
  }

  async pause(ms: number): Promise<void> {
    await (await this.redis()).runCommand(PAUSE_COMMAND, [
      this.key,
      Math.max(0, Math.ceil(ms)),
      this.toleranceMicros,
    ]);
  }
}
