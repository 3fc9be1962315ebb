import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { Clock } from '../providers/clock.js';
import { TooManyRequests } from './errors.js';
import { hit } from './rate-limits.js';

/**
 * What stands between a password guesser and an account, without handing anyone the power to
 * lock the owner out (a fixed per-account limit did: ten failures from one address kept the
 * right password out from everywhere for 15 minutes).
 *
 * 1. Per address: 30 attempts in 15 minutes, whatever the accounts (one address spraying many).
 * 2. Per account and address: 10 attempts in 15 minutes (one address guessing one account). A
 *    login from that address resets it.
 * 3. Per account, a slow-down for addresses it never logged in from: the first 20 failures in a
 *    row cost nothing, after that each failure makes the next attempt from an unfamiliar address
 *    wait 1 s, 2 s, 4 s … at most 60 s (an attacker rotating addresses gets about one guess a
 *    minute). Refused attempts do not count, so hammering does not lengthen the wait. Addresses
 *    the account logged in from in the last 90 days skip the wait (limits 1 and 2 still hold). A
 *    login resets the count; so does an hour without failures.
 *
 * Attempts are counted when they start (one statement, so concurrent guesses cannot all pass on
 * the same free slot) and the count is undone by a successful login.
 */
export const LOGIN_LIMITS = {
  perAddress: { limit: 30, windowMs: 15 * 60 * 1000 },
  perAccountAndAddress: { limit: 10, windowMs: 15 * 60 * 1000 },
  freeFailures: 20,
  firstDelayMs: 1000,
  maxDelayMs: 60 * 1000,
  failureMemoryMs: 60 * 60 * 1000,
  knownAddressMs: 90 * 24 * 60 * 60 * 1000,
} as const;

export interface LoginKeys {
  /** Keyed pseudonym of the address typed in (Pseudonyms.loginAccount); also for addresses without an account. */
  account: string;
  /** Keyed pseudonym of the client's IP address (Pseudonyms.ip). */
  address: string;
}

const pairKey = (keys: LoginKeys) => `login:account-ip:${keys.account}:${keys.address}`;

/** The wait after the `failures`-th failure in a row before an unfamiliar address may try again. */
export function slowDownMs(failures: number): number {
  const { freeFailures, firstDelayMs, maxDelayMs } = LOGIN_LIMITS;
  if (failures < freeFailures) return 0;
  return Math.min(maxDelayMs, firstDelayMs * 2 ** Math.min(failures - freeFailures, 30));
}

export async function isKnownAddress(db: DbOrTx, clock: Clock, keys: LoginKeys): Promise<boolean> {
  const row = await db
    .selectFrom('login_known_addresses')
    .select('address_key')
    .where('account_key', '=', keys.account)
    .where('address_key', '=', keys.address)
    .where('last_success_at', '>', new Date(clock.now().getTime() - LOGIN_LIMITS.knownAddressMs))
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Admits one login attempt under all three limits, counting it as a failure until
 * `loginSucceeded` says otherwise; throws TooManyRequests (with the seconds to wait) when not.
 */
export async function admitLoginAttempt(db: DbOrTx, clock: Clock, keys: LoginKeys): Promise<void> {
  const message = 'Too many login attempts. Wait a few minutes and try again.';
  await hit(db, clock, { key: `login:ip:${keys.address}`, ...LOGIN_LIMITS.perAddress }, message);
  await hit(db, clock, { key: pairKey(keys), ...LOGIN_LIMITS.perAccountAndAddress }, message);
  const known = await isKnownAddress(db, clock, keys);
  const now = clock.now();
  const forgetBefore = new Date(now.getTime() - LOGIN_LIMITS.failureMemoryMs);
  const { freeFailures, firstDelayMs, maxDelayMs } = LOGIN_LIMITS;
  // The failure count this attempt makes, and the wait it sets (slowDownMs, in SQL).
  const failures = sql<number>`(case when t.updated_at < ${forgetBefore} then 1 else t.failures + 1 end)`;
  const waitMs = sql<number>`(case when ${failures} < ${freeFailures} then 0
    else least(${maxDelayMs}::float8, ${firstDelayMs}::float8 * power(2, least(${failures} - ${freeFailures}, 30))) end)`;
  const { rows } = await sql<{ failures: number }>`
    insert into login_throttles as t (account_key, failures, next_attempt_at, updated_at)
    values (${keys.account}, 1, ${new Date(now.getTime() + slowDownMs(1))}, ${now})
    on conflict (account_key) do update set
      failures = ${failures},
      next_attempt_at = ${now}::timestamptz + make_interval(secs => ${waitMs} / 1000),
      updated_at = ${now}
    where ${known} or t.updated_at < ${forgetBefore} or t.next_attempt_at <= ${now}
    returning failures`.execute(db);
  if (rows.length > 0) return;
  const row = await db
    .selectFrom('login_throttles')
    .select('next_attempt_at')
    .where('account_key', '=', keys.account)
    .executeTakeFirst();
  const waitSeconds = Math.ceil(((row?.next_attempt_at.getTime() ?? 0) - now.getTime()) / 1000);
  throw new TooManyRequests(
    'Too many failed logins on this account. Wait a moment and try again.',
    Math.max(1, waitSeconds),
  );
}

/** A right password: the account's and this address's counts start over, and the address is known. */
export async function loginSucceeded(db: DbOrTx, clock: Clock, keys: LoginKeys): Promise<void> {
  await db.deleteFrom('login_throttles').where('account_key', '=', keys.account).execute();
  await db.deleteFrom('rate_limits').where('key', '=', pairKey(keys)).execute();
  await db
    .insertInto('login_known_addresses')
    .values({ account_key: keys.account, address_key: keys.address, last_success_at: clock.now() })
    .onConflict((oc) =>
      oc.columns(['account_key', 'address_key']).doUpdateSet({ last_success_at: clock.now() }),
    )
    .execute();
}

/** Hourly cleanup: failure counts that are forgotten anyway, and addresses no longer familiar. */
export async function deleteExpiredLoginState(db: DbOrTx, clock: Clock): Promise<void> {
  const now = clock.now().getTime();
  await db
    .deleteFrom('login_throttles')
    .where('updated_at', '<', new Date(now - LOGIN_LIMITS.failureMemoryMs))
    .execute();
  await db
    .deleteFrom('login_known_addresses')
    .where('last_success_at', '<', new Date(now - LOGIN_LIMITS.knownAddressMs))
    .execute();
}
