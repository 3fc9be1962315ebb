import { sql } from 'kysely';
import { z } from 'zod';
import type { DbOrTx } from '../db/connection.js';
import type { Role, User } from '../db/schema.js';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../infra/crypto.js';
import { Conflict, Invalid, NotFound } from './errors.js';
import { passwordWeakness } from './password-strength.js';

export const ROLES = ['viewer', 'editor', 'admin'] as const satisfies readonly Role[];
const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function roleAtLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

export function lowerRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

export const PASSWORD_LENGTH = { min: 12, max: 200 } as const;

export const passwordSchema = z
  .string()
  .min(PASSWORD_LENGTH.min, `Use at least ${PASSWORD_LENGTH.min} characters.`)
  .max(PASSWORD_LENGTH.max, `Use at most ${PASSWORD_LENGTH.max} characters.`);

export const userEmailSchema = z.string().trim().toLowerCase().max(254).email('Enter a valid email address.');

/**
 * Refuses a password that is too short or too long, or easy to guess (common, a word or name with digits, the account's own
 * address or name): Dutch on the field, English in the message (the API's detail, the CLI).
 */
export async function assertStrongPassword(
  password: string,
  person: { email?: string; name?: string | null },
): Promise<void> {
  const { min, max } = PASSWORD_LENGTH;
  if (password.length < min || password.length > max) {
    throw new Invalid(`Use ${min} to ${max} characters for the password.`, [
      {
        field: 'password',
        message:
          password.length < min ? `Gebruik minstens ${min} tekens.` : `Gebruik hoogstens ${max} tekens.`,
      },
    ]);
  }
  const weakness = await passwordWeakness(password, person);
  if (weakness) throw new Invalid(weakness.en, [{ field: 'password', message: weakness.nl }]);
}

export type PublicUser = Pick<User, 'id' | 'email' | 'name' | 'role' | 'created_at' | 'disabled_at'>;

const publicColumns = ['id', 'email', 'name', 'role', 'created_at', 'disabled_at'] as const;

export async function createUser(
  db: DbOrTx,
  input: { email: string; name?: string; role: Role; password: string },
): Promise<PublicUser> {
  const email = userEmailSchema.parse(input.email);
  await assertStrongPassword(input.password, { email, name: input.name });
  const existing = await findUserByEmail(db, email);
  if (existing) {
    throw new Conflict('A user with this email address already exists.', [
      { field: 'email', message: 'Er is al een gebruiker met dit e-mailadres.' },
    ]);
  }
  return db
    .insertInto('users')
    .values({
      email,
      name: input.name ?? '',
      role: input.role,
      password_hash: await hashPassword(input.password),
    })
    .returning(publicColumns)
    .executeTakeFirstOrThrow();
}

export function findUserByEmail(db: DbOrTx, email: string) {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst();
}

export async function getUser(db: DbOrTx, id: string): Promise<PublicUser> {
  const user = await db.selectFrom('users').select(publicColumns).where('id', '=', id).executeTakeFirst();
  if (!user) throw new NotFound('No such user.');
  return user;
}

export function listUsers(db: DbOrTx): Promise<PublicUser[]> {
  return db.selectFrom('users').select(publicColumns).orderBy('id').execute();
}

export async function updateUser(
  db: DbOrTx,
  id: string,
  changes: { name?: string; role?: Role; password?: string; disabled?: boolean },
): Promise<PublicUser> {
  const current = await getUser(db, id);
  if (changes.password !== undefined) {
    await assertStrongPassword(changes.password, {
      email: current.email,
      name: changes.name ?? current.name,
    });
  }
  if (current.role === 'admin' && changes.role && changes.role !== 'admin') {
    await assertAnotherActiveAdmin(db, id, 'role');
  }
  if (current.role === 'admin' && changes.disabled) await assertAnotherActiveAdmin(db, id, 'disabled');
  const user = await db
    .updateTable('users')
    .set({
      updated_at: new Date(),
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.role ? { role: changes.role } : {}),
      ...(changes.password ? { password_hash: await hashPassword(changes.password) } : {}),
      ...(changes.disabled !== undefined ? { disabled_at: changes.disabled ? new Date() : null } : {}),
    })
    .where('id', '=', id)
    .returning(publicColumns)
    .executeTakeFirstOrThrow();
  if (changes.disabled || changes.password || changes.role) {
    // A lowered role or a disabled account must not keep power through an existing session.
    await db.deleteFrom('sessions').where('user_id', '=', id).execute();
  }
  const higherRoles = changes.role ? ROLES.filter((role) => !roleAtLeast(changes.role!, role)) : [];
  if (higherRoles.length > 0) {
    // A token never has more power than its user.
    await db
      .updateTable('api_tokens')
      .set({ role: changes.role! })
      .where('user_id', '=', id)
      .where('role', 'in', higherRoles)
      .execute();
  }
  return user;
}

/**
 * Refuses to demote or disable the last active admin. Every active admin is locked (in id order,
 * so concurrent changes queue instead of deadlocking): of two admins demoting each other at the
 * same moment, the second waits and then sees that the first is no admin any more.
 */
async function assertAnotherActiveAdmin(
  db: DbOrTx,
  exceptId: string,
  field: 'role' | 'disabled',
): Promise<void> {
  const admins = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
  if (!admins.some((admin) => admin.id !== exceptId)) {
    throw new Conflict('This is the last active admin; make another user admin first.', [
      { field, message: 'Dit is de laatste actieve beheerder: maak eerst iemand anders beheerder.' },
    ]);
  }
}

export async function hasActiveAdmin(db: DbOrTx): Promise<boolean> {
  const admin = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return admin !== undefined;
}

/** Returns the user when email and password match an enabled account; same cost either way. */
export async function authenticate(db: DbOrTx, email: string, password: string): Promise<User | undefined> {
  const user = await findUserByEmail(db, email);
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
  return ok && user && !user.disabled_at ? user : undefined;
}
