import type { DbOrTx } from '../db/connection.js';
import { Conflict, NotFound } from './errors.js';

export interface TopicInput {
  slug: string;
  nameNl: string;
  nameEn: string;
  descriptionNl?: string;
  descriptionEn?: string;
  public?: boolean;
  position?: number;
}

export function listTopics(db: DbOrTx, options: { includeArchived?: boolean; publicOnly?: boolean } = {}) {
  return db
    .selectFrom('topics')
    .selectAll()
    .select((eb) =>
      eb
        .selectFrom('subscriptions')
        .innerJoin('subscribers', 'subscribers.id', 'subscriptions.subscriber_id')
        .select((e) => e.fn.countAll<string>().as('n'))
        .whereRef('subscriptions.topic_id', '=', 'topics.id')
        .where('subscribers.status', '=', 'active')
        .as('active_subscribers'),
    )
    .$if(!options.includeArchived, (q) => q.where('archived_at', 'is', null))
    .$if(options.publicOnly === true, (q) => q.where('public', '=', true))
    .orderBy('position')
    .orderBy('id')
    .execute();
}

export async function getTopic(db: DbOrTx, id: string) {
  const topic = await db.selectFrom('topics').selectAll().where('id', '=', id).executeTakeFirst();
  if (!topic) throw new NotFound('Dit onderwerp bestaat niet (meer).');
  return topic;
}

async function assertSlugFree(db: DbOrTx, slug: string, exceptId?: string) {
  const clash = await db
    .selectFrom('topics')
    .select('id')
    .where('slug', '=', slug)
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash) {
    throw new Conflict('A topic with this slug already exists.', [
      { field: 'slug', message: 'Deze korte naam is al in gebruik door een ander onderwerp.' },
    ]);
  }
}

export async function createTopic(db: DbOrTx, input: TopicInput) {
  await assertSlugFree(db, input.slug);
  return db
    .insertInto('topics')
    .values({
      slug: input.slug,
      name_nl: input.nameNl,
      name_en: input.nameEn,
      description_nl: input.descriptionNl ?? '',
      description_en: input.descriptionEn ?? '',
      public: input.public ?? true,
      position: input.position ?? 0,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateTopic(
  db: DbOrTx,
  id: string,
  changes: Partial<TopicInput> & { archived?: boolean },
) {
  const current = await getTopic(db, id);
  if (changes.slug) await assertSlugFree(db, changes.slug, id);
  const set = {
    ...(changes.slug !== undefined ? { slug: changes.slug } : {}),
    ...(changes.nameNl !== undefined ? { name_nl: changes.nameNl } : {}),
    ...(changes.nameEn !== undefined ? { name_en: changes.nameEn } : {}),
    ...(changes.descriptionNl !== undefined ? { description_nl: changes.descriptionNl } : {}),
    ...(changes.descriptionEn !== undefined ? { description_en: changes.descriptionEn } : {}),
    ...(changes.public !== undefined ? { public: changes.public } : {}),
    ...(changes.position !== undefined ? { position: changes.position } : {}),
    ...(changes.archived !== undefined ? { archived_at: changes.archived ? new Date() : null } : {}),
  };
  // A change of nothing is no change (an UPDATE without columns is not SQL).
  if (Object.keys(set).length === 0) return current;
  return db.updateTable('topics').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** Topics are archived, not deleted, once anyone subscribed: history and consent refer to them. */
export async function deleteTopic(db: DbOrTx, id: string): Promise<void> {
  await getTopic(db, id);
  const used = await db
    .selectFrom('subscriptions')
    .select('topic_id')
    .where('topic_id', '=', id)
    .limit(1)
    .executeTakeFirst();
  if (used) {
    throw new Conflict(
      'Dit onderwerp heeft abonnees en kan daarom niet weg; archiveer het in plaats daarvan (archived: true).',
    );
  }
  const inEdition = await db
    .selectFrom('edition_topics')
    .select('topic_id')
    .where('topic_id', '=', id)
    .limit(1)
    .executeTakeFirst();
  if (inEdition) {
    throw new Conflict(
      'Dit onderwerp hoort bij een editie en kan daarom niet weg; archiveer het in plaats daarvan (archived: true).',
    );
  }
  await db.deleteFrom('topics').where('id', '=', id).execute();
}
