import type { DbOrTx } from '../db/connection.js';
import type { Edition, EditionStatus, Locale, OrganisationKind } from '../db/schema.js';
import type { Clock } from '../providers/clock.js';
import type { Principal } from './auth.js';
import { enqueueBatches } from './deliveries.js';
import type { Block } from './edition-content.js';
import { Conflict, EditedMeanwhile, Forbidden, Invalid, NotFound } from './errors.js';
import { enqueue } from './outbox.js';
import { getSettings } from './settings.js';
import { resolveTopics } from './subscribers.js';

export const EDITIONS_QUEUE = 'editions';
export const EDITION_BATCHES_QUEUE = 'edition-batches';

export interface EditionInput {
  title: string;
  subject: string;
  preheader?: string;
  slug: string;
  locale: Locale;
  topics: string[];
  organisationKinds?: OrganisationKind[];
  blocks: Block[];
  imageUrl?: string | null;
  openTracking?: boolean;
}

export interface EditionView extends Edition {
  topics: string[];
}

/** Which actions each status allows; everything else is a 409 with the reason. */
const TRANSITIONS: Record<string, { from: EditionStatus[]; to: EditionStatus }> = {
  submit: { from: ['draft'], to: 'in_review' },
  requestChanges: { from: ['in_review'], to: 'draft' },
  approve: { from: ['in_review'], to: 'approved' },
  schedule: { from: ['approved', 'scheduled'], to: 'scheduled' },
  cancel: { from: ['approved', 'scheduled', 'sending', 'paused'], to: 'cancelled' },
  pause: { from: ['sending'], to: 'paused' },
  resume: { from: ['paused'], to: 'sending' },
  reopen: { from: ['cancelled'], to: 'draft' },
};
export type EditionAction = keyof typeof TRANSITIONS;

const EDITABLE: EditionStatus[] = ['draft', 'in_review', 'approved', 'scheduled'];

/** Whether the content can still be edited (an approved or scheduled edition then goes back to draft). */
export function isEditable(status: EditionStatus): boolean {
  return EDITABLE.includes(status);
}

/** The life-cycle actions an edition in `status` allows, e.g. to show only the buttons that can work. */
export function editionActions(status: EditionStatus): EditionAction[] {
  return (Object.keys(TRANSITIONS) as EditionAction[]).filter((action) =>
    TRANSITIONS[action]!.from.includes(status),
  );
}

/** Only drafts and cancelled editions that never went out can be deleted. */
export function isDeletable(edition: Pick<Edition, 'status' | 'sending_started_at'>): boolean {
  return ['draft', 'in_review', 'cancelled'].includes(edition.status) && !edition.sending_started_at;
}

export async function getEdition(
  db: DbOrTx,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EditionView> {
  const edition = await db
    .selectFrom('editions')
    .selectAll()
    .where('id', '=', id)
    .$if(options.forUpdate === true, (q) => q.forUpdate())
    .executeTakeFirst();
  if (!edition) throw new NotFound('No such edition.');
  const topics = await db
    .selectFrom('edition_topics')
    .innerJoin('topics', 'topics.id', 'edition_topics.topic_id')
    .select('topics.slug')
    .where('edition_topics.edition_id', '=', id)
    .orderBy('topics.position')
    .execute();
  return { ...edition, topics: topics.map((t) => t.slug) };
}

export function listEditions(
  db: DbOrTx,
  filter: { status?: EditionStatus; q?: string; locale?: Locale; limit: number; before?: string },
) {
  return db
    .selectFrom('editions')
    .select([
      'id',
      'title',
      'subject',
      'slug',
      'locale',
      'status',
      'send_at',
      'sent_at',
      'updated_at',
      'created_at',
    ])
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status!))
    .$if(Boolean(filter.q), (q) =>
      q.where((eb) =>
        eb.or([
          eb('title', 'ilike', `%${escapeLike(filter.q!)}%`),
          eb('subject', 'ilike', `%${escapeLike(filter.q!)}%`),
        ]),
      ),
    )
    .$if(filter.locale !== undefined, (q) => q.where('locale', '=', filter.locale!))
    .$if(filter.before !== undefined, (q) => q.where('id', '<', filter.before!))
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .execute();
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function recordTransition(
  db: DbOrTx,
  editionId: string,
  actor: Principal | null,
  from: EditionStatus | null,
  to: EditionStatus,
  note?: string,
) {
  await db
    .insertInto('edition_events')
    .values({
      edition_id: editionId,
      actor_user_id: actor?.user.id ?? null,
      from_status: from,
      to_status: to,
      note: note ?? null,
    })
    .execute();
}

async function assertSlugFree(db: DbOrTx, slug: string, exceptId?: string) {
  const clash = await db
    .selectFrom('editions')
    .select('id')
    .where('slug', '=', slug)
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash)
    throw new Invalid('The slug is taken.', [
      { field: 'slug', message: 'Deze korte naam is al in gebruik door een andere editie.' },
    ]);
}

async function setTopics(db: DbOrTx, editionId: string, refs: string[]) {
  const topicIds = await resolveTopics(db, refs);
  if (topicIds.length === 0)
    throw new Invalid('Choose at least one topic.', [
      { field: 'topics', message: 'Kies minstens één onderwerp.' },
    ]);
  await db.deleteFrom('edition_topics').where('edition_id', '=', editionId).execute();
  await db
    .insertInto('edition_topics')
    .values(topicIds.map((topic_id) => ({ edition_id: editionId, topic_id })))
    .execute();
}

export async function createEdition(tx: DbOrTx, actor: Principal, input: EditionInput): Promise<EditionView> {
  await assertSlugFree(tx, input.slug);
  const edition = await tx
    .insertInto('editions')
    .values({
      title: input.title,
      subject: input.subject,
      preheader: input.preheader ?? '',
      slug: input.slug,
      locale: input.locale,
      organisation_kinds: input.organisationKinds ?? [],
      blocks: JSON.stringify(input.blocks),
      image_url: input.imageUrl ?? null,
      open_tracking: input.openTracking ?? false,
      created_by: actor.user.id,
      last_edited_by: actor.user.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await setTopics(tx, edition.id, input.topics);
  await recordTransition(tx, edition.id, actor, null, 'draft', 'created');
  return getEdition(tx, edition.id);
}

/**
 * Edits content. An approved or scheduled edition goes back to draft (it must be approved again,
 * and the schedule version changes so a queued send job does nothing).
 */
export async function updateEdition(
  tx: DbOrTx,
  actor: Principal,
  id: string,
  changes: Partial<EditionInput>,
  options: { basedOn?: Date } = {},
): Promise<EditionView> {
  const edition = await getEdition(tx, id, { forUpdate: true });
  if (!isEditable(edition.status)) {
    throw new Conflict(`An edition that is ${edition.status} can no longer be edited.`);
  }
  // Compared in milliseconds: what clients got (JSON, the editor's form) carries no more than that.
  if (options.basedOn && options.basedOn.getTime() !== edition.updated_at.getTime()) {
    throw new EditedMeanwhile(
      'Someone else saved this edition after the version this change is based on; nothing was saved.',
      edition.updated_at,
    );
  }
  if (changes.slug) await assertSlugFree(tx, changes.slug, id);
  const backToDraft = edition.status === 'approved' || edition.status === 'scheduled';
  await tx
    .updateTable('editions')
    .set({
      ...(changes.title !== undefined ? { title: changes.title } : {}),
      ...(changes.subject !== undefined ? { subject: changes.subject } : {}),
      ...(changes.preheader !== undefined ? { preheader: changes.preheader } : {}),
      ...(changes.slug !== undefined ? { slug: changes.slug } : {}),
      ...(changes.locale !== undefined ? { locale: changes.locale } : {}),
      ...(changes.organisationKinds !== undefined ? { organisation_kinds: changes.organisationKinds } : {}),
      ...(changes.blocks !== undefined ? { blocks: JSON.stringify(changes.blocks) } : {}),
      ...(changes.imageUrl !== undefined ? { image_url: changes.imageUrl } : {}),
      ...(changes.openTracking !== undefined ? { open_tracking: changes.openTracking } : {}),
      last_edited_by: actor.user.id,
      // Always later than the version it replaces, so that every save is a new version.
      updated_at: new Date(Math.max(Date.now(), edition.updated_at.getTime() + 1)),
      ...(backToDraft
        ? {
            status: 'draft' as const,
            approved_by: null,
            approved_at: null,
            send_at: null,
            schedule_version: edition.schedule_version + 1,
          }
        : {}),
    })
    .where('id', '=', id)
    .execute();
  if (changes.topics !== undefined) await setTopics(tx, id, changes.topics);
  if (backToDraft) await recordTransition(tx, id, actor, edition.status, 'draft', 'edited after approval');
  return getEdition(tx, id);
}

export async function deleteEdition(tx: DbOrTx, id: string): Promise<void> {
  const edition = await getEdition(tx, id, { forUpdate: true });
  if (!isDeletable(edition)) {
    throw new Conflict('Only drafts and cancelled editions that never went out can be deleted.');
  }
  await tx.deleteFrom('editions').where('id', '=', id).execute();
}

/**
 * Moves an edition along its life cycle. Scheduling bumps `schedule_version` and records a
 * delayed job whose id names that version: when it runs, it checks the version again, so a
 * rescheduled or cancelled edition is never sent at the old time.
 */
export async function transitionEdition(
  tx: DbOrTx,
  clock: Clock,
  actor: Principal | null,
  id: string,
  action: EditionAction,
  options: { sendAt?: Date; note?: string } = {},
): Promise<EditionView> {
  const edition = await getEdition(tx, id, { forUpdate: true });
  const rule = TRANSITIONS[action]!;
  if (!rule.from.includes(edition.status)) {
    throw new Conflict(`Cannot ${action} an edition that is ${edition.status}.`);
  }
  const now = clock.now();
  const changes: Partial<{
    status: EditionStatus;
    approved_by: string | null;
    approved_at: Date | null;
    send_at: Date | null;
    schedule_version: number;
    paused_reason: string | null;
  }> = { status: rule.to };

  if (action === 'approve') {
    const settings = await getSettings(tx);
    if (settings.requireSecondApprover && actor && edition.last_edited_by === actor.user.id) {
      throw new Forbidden('Four-eyes rule: someone other than the last editor must approve this edition.');
    }
    changes.approved_by = actor?.user.id ?? null;
    changes.approved_at = now;
  }
  if (action === 'schedule') {
    const sendAt = options.sendAt ?? now;
    if (sendAt.getTime() < now.getTime() - 60_000) {
      throw new Invalid('The send time is in the past.', [
        { field: 'sendAt', message: 'Kies een moment in de toekomst.' },
      ]);
    }
    changes.send_at = sendAt;
    changes.schedule_version = edition.schedule_version + 1;
    await enqueue(tx, {
      queue: EDITIONS_QUEUE,
      jobName: 'start-send',
      jobId: `edition-${id}-v${changes.schedule_version}`,
      payload: { editionId: id, scheduleVersion: changes.schedule_version },
      runAt: sendAt,
    });
  }
  if (action === 'cancel') {
    changes.schedule_version = edition.schedule_version + 1;
    changes.send_at = null;
    if (edition.status === 'sending' || edition.status === 'paused') {
      await tx
        .updateTable('deliveries')
        .set({ status: 'cancelled', updated_at: now })
        .where('edition_id', '=', id)
        .where('status', '=', 'queued')
        .execute();
      await tx
        .updateTable('delivery_batches')
        .set({ status: 'cancelled' })
        .where('edition_id', '=', id)
        .where('status', '=', 'pending')
        .execute();
    }
  }
  if (action === 'reopen') {
    changes.approved_by = null;
    changes.approved_at = null;
  }
  if (action === 'pause') changes.paused_reason = options.note ?? 'paused by an editor';
  if (action === 'resume') {
    changes.paused_reason = null;
    // A new round of job ids: the jobs of the paused round have completed without sending.
    await enqueueBatches(tx, id, `r${now.getTime().toString(36)}`);
  }
  await tx
    .updateTable('editions')
    .set({ ...changes, updated_at: now })
    .where('id', '=', id)
    .execute();
  await recordTransition(tx, id, actor, edition.status, rule.to, options.note ?? action);
  return getEdition(tx, id);
}

export function editionHistory(db: DbOrTx, id: string) {
  return db
    .selectFrom('edition_events')
    .leftJoin('users', 'users.id', 'edition_events.actor_user_id')
    .select([
      'edition_events.id',
      'edition_events.from_status',
      'edition_events.to_status',
      'edition_events.note',
      'edition_events.at',
      'users.email as actor_email',
    ])
    .where('edition_events.edition_id', '=', id)
    .orderBy('edition_events.id')
    .execute();
}
