import type { DbOrTx } from '../db/connection.js';
import type { Role } from '../db/schema.js';
import { randomToken, sha256 } from '../infra/crypto.js';
import type { Clock } from '../providers/clock.js';
import { Conflict, Forbidden, Invalid, NotFound } from './errors.js';
import { createUser, hasActiveAdmin, lowerRole, type PublicUser, roleAtLeast } from './users.js';

/** Who is making a request: a logged-in user (session) or an API token acting as its user. */
export interface Principal {
  user: PublicUser;
  role: Role;
  via: 'session' | 'token';
  tokenId: string | null;
  /** Only for sessions: the token forms must echo back. */
  csrfToken: string | null;
}

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const SETUP_TOKEN_TTL_MS = 60 * 60 * 1000;
const API_TOKEN_PREFIX = 'tp_';

export async function createSession(
  db: DbOrTx,
  clock: Clock,
  userId: string,
  userAgent: string | null,
): Promise<{ sessionToken: string; csrfToken: string; expiresAt: Date }> {
  const sessionToken = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(clock.now().getTime() + SESSION_TTL_MS);
  await db
    .insertInto('sessions')
    .values({
      id_hash: sha256(sessionToken),
      user_id: userId,
      csrf_token: csrfToken,
      expires_at: expiresAt,
      user_agent: userAgent?.slice(0, 300) ?? null,
    })
    .execute();
  return { sessionToken, csrfToken, expiresAt };
}

export async function principalFromSession(
  db: DbOrTx,
  clock: Clock,
  sessionToken: string,
): Promise<Principal | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.created_at', 'users.disabled_at'])
    .select(['sessions.csrf_token'])
    .where('sessions.id_hash', '=', sha256(sessionToken))
    .where('sessions.expires_at', '>', clock.now())
    .where('users.disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  const { csrf_token, ...user } = row;
  return { user, role: user.role, via: 'session', tokenId: null, csrfToken: csrf_token };
}

export async function deleteSession(db: DbOrTx, sessionToken: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256(sessionToken)).execute();
}

export async function createApiToken(
  db: DbOrTx,
  owner: PublicUser,
  input: { name: string; role?: Role; expiresAt?: Date | null },
): Promise<{ id: string; token: string; role: Role; prefix: string }> {
  const requested = input.role ?? owner.role;
  if (!roleAtLeast(owner.role, requested)) {
    throw new Invalid('A token cannot have a higher role than its user.', [
      { field: 'role', message: 'Een token mag niet meer dan zijn eigenaar: kies diens rol of een lagere.' },
    ]);
  }
  const token = `${API_TOKEN_PREFIX}${randomToken()}`;
  const prefix = token.slice(0, 10);
  const row = await db
    .insertInto('api_tokens')
    .values({
      user_id: owner.id,
      name: input.name,
      role: requested,
      token_hash: sha256(token),
      prefix,
      expires_at: input.expiresAt ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token, role: requested, prefix };
}

/** How stale `last_used_at` may get: writing it on every request would serialise a busy token's requests. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function principalFromApiToken(
  db: DbOrTx,
  clock: Clock,
  token: string,
): Promise<Principal | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const now = clock.now();
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['users.id', 'users.email', 'users.name', 'users.role', 'users.created_at', 'users.disabled_at'])
    .select(['api_tokens.id as token_id', 'api_tokens.role as token_role', 'api_tokens.last_used_at'])
    .where('api_tokens.token_hash', '=', sha256(token))
    .where('api_tokens.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]))
    .where('users.disabled_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  const { token_id, token_role, last_used_at, ...user } = row;
  if (!last_used_at || now.getTime() - last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', token_id).execute();
  }
  return { user, role: lowerRole(token_role, user.role), via: 'token', tokenId: token_id, csrfToken: null };
}

export function listApiTokens(db: DbOrTx, userId: string | null) {
  let query = db
    .selectFrom('api_tokens')
    .select([
      'id',
      'user_id',
      'name',
      'role',
      'prefix',
      'created_at',
      'last_used_at',
      'expires_at',
      'revoked_at',
    ])
    .orderBy('id');
  if (userId !== null) query = query.where('user_id', '=', userId);
  return query.execute();
}

/** Admins may revoke any token; others only their own. */
export async function revokeApiToken(
  db: DbOrTx,
  clock: Clock,
  principal: Principal,
  tokenId: string,
): Promise<void> {
  const token = await db
    .selectFrom('api_tokens')
    .select(['user_id'])
    .where('id', '=', tokenId)
    .executeTakeFirst();
  if (!token) throw new NotFound('No such token.');
  if (token.user_id !== principal.user.id && principal.role !== 'admin') throw new Forbidden();
  await db
    .updateTable('api_tokens')
    .set({ revoked_at: clock.now() })
    .where('id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .execute();
}

/**
 * First run: while no admin exists, a one-time link lets the first person create one.
 * Returns null when an admin already exists.
 */
export async function issueSetupToken(
  db: DbOrTx,
  clock: Clock,
): Promise<{ token: string; expiresAt: Date } | null> {
  if (await hasActiveAdmin(db)) return null;
  const token = randomToken();
  const expiresAt = new Date(clock.now().getTime() + SETUP_TOKEN_TTL_MS);
  await db
    .insertInto('setup_tokens')
    .values({ token_hash: sha256(token), expires_at: expiresAt })
    .execute();
  return { token, expiresAt };
}

export async function isSetupTokenValid(db: DbOrTx, clock: Clock, token: string): Promise<boolean> {
  const row = await db
    .selectFrom('setup_tokens')
    .select('token_hash')
    .where('token_hash', '=', sha256(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', clock.now())
    .executeTakeFirst();
  return row !== undefined && !(await hasActiveAdmin(db));
}

/** Must run in a transaction: uses the token and creates the admin together, or neither. */
export async function completeSetup(
  tx: DbOrTx,
  clock: Clock,
  token: string,
  input: { email: string; name?: string; password: string },
): Promise<PublicUser> {
  const used = await tx
    .updateTable('setup_tokens')
    .set({ used_at: clock.now() })
    .where('token_hash', '=', sha256(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', clock.now())
    .returning('token_hash')
    .executeTakeFirst();
  if (!used)
    throw new Invalid('This setup link has expired or was already used. Restart the service for a new one.');
  if (await hasActiveAdmin(tx)) throw new Conflict('An admin already exists; log in instead.');
  return createUser(tx, { ...input, role: 'admin' });
}
