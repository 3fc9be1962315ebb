import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection.js';
import type { OrganisationKind } from '../db/schema.js';
import { Conflict, NotFound } from './errors.js';

export const ORGANISATION_KINDS = [
  'gemeente',
  'zorgaanbieder',
  'woningcorporatie',
  'overig',
] as const satisfies readonly OrganisationKind[];

export function listOrganisations(db: DbOrTx) {
  return db
    .selectFrom('organisations')
    .leftJoin('subscribers', 'subscribers.organisation_id', 'organisations.id')
    .select(['organisations.id', 'organisations.name', 'organisations.kind', 'organisations.created_at'])
    .select((eb) => eb.fn.count<string>('subscribers.id').as('subscriber_count'))
    .groupBy('organisations.id')
    .orderBy('organisations.name')
    .execute();
}

export async function getOrganisation(db: DbOrTx, id: string) {
  const row = await db.selectFrom('organisations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFound('Deze organisatie bestaat niet (meer).');
  return row;
}

async function assertNameFree(db: DbOrTx, name: string, exceptId?: string) {
  const clash = await db
    .selectFrom('organisations')
    .select('id')
    .where(sql`lower(name)`, '=', name.toLowerCase())
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash) {
    throw new Conflict('An organisation with this name already exists.', [
      { field: 'name', message: 'Er bestaat al een organisatie met deze naam.' },
    ]);
  }
}

export async function createOrganisation(db: DbOrTx, input: { name: string; kind: OrganisationKind }) {
  await assertNameFree(db, input.name);
  return db.insertInto('organisations').values(input).returningAll().executeTakeFirstOrThrow();
}

export async function updateOrganisation(
  db: DbOrTx,
  id: string,
  changes: { name?: string; kind?: OrganisationKind },
) {
  await getOrganisation(db, id);
  if (changes.name) await assertNameFree(db, changes.name, id);
  return db
    .updateTable('organisations')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Members keep their subscription; they just no longer belong to the organisation. */
export async function deleteOrganisation(db: DbOrTx, id: string): Promise<void> {
  const result = await db.deleteFrom('organisations').where('id', '=', id).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new NotFound('Deze organisatie bestaat niet (meer).');
}
