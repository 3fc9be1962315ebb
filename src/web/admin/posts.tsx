/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import { PostInputSchema, StatusSchema as PostStatusSchema, requeueHeld } from '../../api/routes/linkedin.js';
import type { Tx } from '../../db/connection.js';
import type { LinkedInPostKind, LinkedInPostStatus } from '../../db/schema.js';
import { Conflict } from '../../domain/errors.js';
import {
  approvePost,
  CANCELLABLE,
  cancelPost,
  createPost,
  EDITABLE,
  effectiveImageUrl,
  getPost,
  listPosts,
  type PostInput,
  type PostRow,
  postAttempts,
  postUrl,
  SCHEDULABLE,
  schedulePost,
  updatePost,
} from '../../domain/linkedin.js';
import { safeUrl } from '../../domain/urls.js';
import { roleAtLeast } from '../../domain/users.js';
import {
  composeCommentary,
  escapedLength,
  MAX_COMMENTARY,
  unescapeLittleText,
} from '../../providers/linkedin-text.js';
import { adminArea } from './area.js';
import { COMMENTARY_COUNTER_SCRIPT } from './assets/commentary-counter.js';
import { type Column, DataTable } from './crud.js';
import { amsterdamDateTimeField, instantToAmsterdamLocal } from './datetime.js';
import { currentLinkedinHealth, HealthWarnings } from './linkedin.js';
import {
  ActionButton,
  AdminPage,
  adminAccess,
  domainFieldErrors,
  ErrorPage,
  ErrorSummary,
  Field,
  type FieldErrors,
  formatDateTime,
  Notice,
  numberFormat,
  PostForm,
  readForm,
  SelectField,
  validateForm,
} from './ui.js';

/**
 * /admin/posts: the LinkedIn queue (filter by status), one post with its attempts and a preview of
 * how LinkedIn will show it, composing and editing ad-hoc posts, and approve, (re)schedule, cancel
 * and requeue — all through domain/linkedin.ts with the API's validation (routes/linkedin.ts).
 */

export const STATUS_LABELS: Record<LinkedInPostStatus, string> = {
  draft: 'Concept (wacht op goedkeuring)',
  scheduled: 'Ingepland',
  publishing: 'Wordt gepubliceerd',
  published: 'Gepubliceerd',
  failed: 'Mislukt',
  held: 'Wacht op de koppeling',
  cancelled: 'Geannuleerd',
};

const KIND_LABELS: Record<LinkedInPostKind, string> = {
  edition: 'Aankondiging van een editie',
  article: 'Artikel',
  document: 'Document of folder',
  custom: 'Eigen bericht',
};

const KIND_OPTIONS = (['article', 'document', 'custom'] as const).map((value) => ({
  value,
  label: KIND_LABELS[value],
}));

const OK_MESSAGES = {
  created: 'Het bericht is opgeslagen als concept.',
  scheduled: 'Het bericht is ingepland.',
  updated: 'Het bericht is bijgewerkt.',
  approved: 'Het bericht is goedgekeurd en ingepland.',
  cancelled: 'Het bericht is geannuleerd.',
  requeued: 'De wachtende berichten zijn opnieuw ingepland.',
};

const PAGE_SIZE = 50;

const POST_COLUMNS: Column<PostRow>[] = [
  { label: 'Bericht', cell: (post) => <a href={`/admin/posts/${post.id}`}>{post.title}</a> },
  { label: 'Soort', cell: (post) => KIND_LABELS[post.kind] },
  { label: 'Status', cell: (post) => <span class="badge">{STATUS_LABELS[post.status]}</span> },
  { label: 'Gepland', cell: (post) => formatDateTime(post.scheduled_at) },
  { label: 'Toelichting', cell: (post) => <PostOutcome post={post} /> },
];

const ATTEMPT_COLUMNS: Column<Awaited<ReturnType<typeof postAttempts>>[number]>[] = [
  { label: 'Tijd', cell: (attempt) => formatDateTime(attempt.at) },
  { label: 'Stap', cell: (attempt) => attempt.step },
  { label: 'Antwoord', cell: (attempt) => attempt.response_status ?? '—' },
  { label: 'Uitkomst', cell: (attempt) => `${attempt.outcome}${attempt.dry_run ? ' (proef)' : ''}` },
  { label: 'Details', cell: (attempt) => attempt.detail ?? '' },
];

/** The API's post input, with the picker's Amsterdam time instead of an ISO string. */
const PostFormSchema = PostInputSchema.omit({ scheduledAt: true }).extend({
  scheduledAt: amsterdamDateTimeField,
});
type PostFormValues = Record<string, string | string[]>;

/** An empty image field means "no image of its own" (the default image is used). */
function postFormInput(form: PostFormValues) {
  const imageUrl = typeof form.imageUrl === 'string' ? form.imageUrl.trim() : '';
  return { ...form, imageUrl: imageUrl === '' ? null : imageUrl, scheduledAt: form.scheduledAt ?? '' };
}

const ScheduleFormSchema = z.object({ scheduledAt: amsterdamDateTimeField });

const ListQuerySchema = z.object({
  status: z.union([PostStatusSchema, z.literal('')]).optional(),
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
});

const canEdit = (c: Context<AppEnv>) => roleAtLeast(c.var.principal!.role, 'editor');

export function postPages() {
  const app = adminArea('viewer');
  const editorOnly = adminAccess('editor');

  app.get('/', async (c) => {
    const query = ListQuerySchema.safeParse(c.req.query());
    if (!query.success) {
      return c.html(<ErrorPage c={c} status={400} message="Onbekende status of pagina." />, 400);
    }
    const status = query.data.status || undefined;
    const posts = await listPosts(c.var.deps.db, { status, before: query.data.before, limit: PAGE_SIZE });
    const health = await currentLinkedinHealth(c);
    const older = posts.length === PAGE_SIZE ? posts[posts.length - 1]!.id : null;
    return c.html(
      <AdminPage c={c} title="LinkedIn-berichten">
        <Notice c={c} messages={OK_MESSAGES} />
        <HealthWarnings c={c} health={health} />
        {canEdit(c) ? (
          <p>
            <a href="/admin/posts/new">Nieuw bericht schrijven</a>
          </p>
        ) : null}
        <form method="get" action="/admin/posts" class="actions">
          <SelectField
            name="status"
            label="Status"
            value={status ?? ''}
            options={[
              { value: '', label: 'Alle berichten' },
              ...PostStatusSchema.options.map((value) => ({ value, label: STATUS_LABELS[value] })),
            ]}
          />
          <button type="submit" class="secondary">
            Tonen
          </button>
        </form>
        <DataTable
          caption="LinkedIn-berichten, nieuwste eerst"
          columns={POST_COLUMNS}
          rows={posts}
          rowKey={(post) => post.id}
          empty={`Geen berichten${status ? ` met de status "${STATUS_LABELS[status]}"` : ''}.`}
        />
        {older ? (
          <p>
            <a href={`/admin/posts?${new URLSearchParams({ ...(status ? { status } : {}), before: older })}`}>
              Oudere berichten
            </a>
          </p>
        ) : null}
      </AdminPage>,
    );
  });

  app.get('/assets/commentary-counter.js', (c) =>
    c.body(COMMENTARY_COUNTER_SCRIPT, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'private, max-age=3600',
    }),
  );

  app.get('/new', editorOnly, (c) =>
    c.html(<ComposePage c={c} values={{ kind: 'article' }} errors={{}} preview={null} />),
  );

  app.post('/', editorOnly, async (c) => {
    const form = await readForm(c);
    const result = validateForm(PostFormSchema, postFormInput(form));
    if (!result.ok)
      return c.html(<ComposePage c={c} values={form} errors={result.errors} preview={null} />, 422);
    const input: PostInput = result.data;
    if (form.intent === 'preview') {
      const preview = await previewOf(c, { ...input, imageUrl: input.imageUrl ?? null });
      return c.html(<ComposePage c={c} values={form} errors={{}} preview={preview} />);
    }
    const { db, clock } = c.var.deps;
    const principal = c.var.principal!;
    try {
      const post = await db.transaction().execute(async (tx) => {
        const created = await createPost(tx, principal, input);
        if (form.intent !== 'schedule') return created;
        return schedulePost(tx, principal, created.id, input.scheduledAt ?? null, clock.now());
      });
      return c.redirect(
        `/admin/posts/${post.id}?ok=${form.intent === 'schedule' ? 'scheduled' : 'created'}`,
        303,
      );
    } catch (error) {
      const errors = domainFieldErrors(error);
      if (!errors) throw error;
      return c.html(<ComposePage c={c} values={form} errors={errors} preview={null} />, 422);
    }
  });

  app.post('/requeue-held', adminAccess('admin'), async (c) => {
    await requeueHeld(c);
    return c.redirect('/admin/posts?ok=requeued', 303);
  });

  app.get('/:id{[0-9]{1,18}}', async (c) => {
    const post = await getPost(c.var.deps.db, c.req.param('id'));
    return c.html(await detailPage(c, post, {}));
  });

  app.get('/:id{[0-9]{1,18}}/edit', editorOnly, async (c) => {
    const post = await getPost(c.var.deps.db, c.req.param('id'));
    return c.html(<EditPage c={c} post={post} values={formValuesOf(post)} errors={{}} />);
  });

  app.post('/:id{[0-9]{1,18}}/edit', editorOnly, async (c) => {
    const { db, clock } = c.var.deps;
    const post = await getPost(db, c.req.param('id'));
    const form = await readForm(c);
    // An announcement keeps its kind; the form does not offer it.
    const result = validateForm(
      PostFormSchema,
      postFormInput(post.kind === 'edition' ? { ...form, kind: 'article' } : form),
    );
    if (!result.ok) return c.html(<EditPage c={c} post={post} values={form} errors={result.errors} />, 422);
    try {
      await db
        .transaction()
        .execute((tx) =>
          updatePost(tx, c.var.principal!, post.id, changedFields(post, result.data), clock.now()),
        );
    } catch (error) {
      const refused = await refusal(c, error, post.id);
      if (!refused) throw error;
      return c.html(
        <EditPage c={c} post={refused.post} values={form} errors={refused.errors} />,
        refused.status,
      );
    }
    return c.redirect(`/admin/posts/${post.id}?ok=updated`, 303);
  });

  app.post('/:id{[0-9]{1,18}}/schedule', editorOnly, async (c) => {
    const { db, clock } = c.var.deps;
    const id = c.req.param('id');
    const result = validateForm(ScheduleFormSchema, await readForm(c));
    if (!result.ok) return c.html(await detailPage(c, await getPost(db, id), result.errors), 422);
    return changeAndShow(c, id, 'scheduled', (tx) =>
      schedulePost(tx, c.var.principal, id, result.data.scheduledAt, clock.now()),
    );
  });

  app.post('/:id{[0-9]{1,18}}/approve', editorOnly, (c) => {
    const id = c.req.param('id');
    return changeAndShow(c, id, 'approved', (tx) =>
      approvePost(tx, c.var.principal!, id, c.var.deps.clock.now()),
    );
  });

  app.post('/:id{[0-9]{1,18}}/cancel', editorOnly, (c) => {
    const id = c.req.param('id');
    return changeAndShow(c, id, 'cancelled', (tx) =>
      cancelPost(tx, c.var.principal!, id, c.var.deps.clock.now()),
    );
  });

  return app;
}

/** Runs one action on a post; a rule it breaks (e.g. no image) shows on the post's page as a 422. */
async function changeAndShow(
  c: Context<AppEnv>,
  id: string,
  ok: keyof typeof OK_MESSAGES,
  change: (tx: Tx) => Promise<unknown>,
) {
  const { db } = c.var.deps;
  try {
    await db.transaction().execute(change);
  } catch (error) {
    const refused = await refusal(c, error, id);
    if (!refused) throw error;
    return c.html(await detailPage(c, refused.post, refused.errors), refused.status);
  }
  return c.redirect(`/admin/posts/${id}?ok=${ok}`, 303);
}

/**
 * A refused change in Dutch, with the post as it is now: the rule it broke (422), or, when the post
 * moved on meanwhile (published, cancelled by someone else), its current state (409).
 */
async function refusal(c: Context<AppEnv>, error: unknown, id: string) {
  const fields = domainFieldErrors(error);
  if (!fields && !(error instanceof Conflict)) return null;
  const post = await getPost(c.var.deps.db, id);
  if (fields) return { status: 422 as const, post, errors: fields };
  const message = `Dat kan nu niet: dit bericht is "${STATUS_LABELS[post.status]}". Hieronder staat de actuele stand.`;
  return { status: 409 as const, post, errors: { form: message } };
}

/** The fields the editor changed: an unchanged text is not sent again (it may already be at LinkedIn). */
function changedFields(post: PostRow, input: PostInput): Partial<PostInput> {
  const changes: Partial<PostInput> = {};
  if (post.kind !== 'edition' && input.kind !== post.kind) changes.kind = input.kind;
  if (input.commentary !== post.commentary) changes.commentary = input.commentary;
  if (input.link !== post.link) changes.link = input.link;
  if (input.title !== post.title) changes.title = input.title;
  if (input.description !== post.description) changes.description = input.description;
  if ((input.imageUrl ?? null) !== post.image_url) changes.imageUrl = input.imageUrl ?? null;
  if ((input.scheduledAt?.getTime() ?? null) !== (post.scheduled_at?.getTime() ?? null)) {
    changes.scheduledAt = input.scheduledAt ?? null;
  }
  return changes;
}

function formValuesOf(post: PostRow): PostFormValues {
  return {
    kind: post.kind,
    commentary: post.commentary,
    link: post.link,
    title: post.title,
    description: post.description,
    imageUrl: post.image_url ?? '',
    scheduledAt: post.scheduled_at ? instantToAmsterdamLocal(post.scheduled_at) : '',
  };
}

const text = (values: PostFormValues, name: string) => {
  const value = values[name];
  return typeof value === 'string' ? value : '';
};

/** What a post's row says besides its status: where it is, why it failed or waits. */
function PostOutcome(props: { post: PostRow }) {
  const { post } = props;
  if (post.status === 'published' && post.post_urn) {
    if (post.dry_run)
      return (
        <span>
          Proef, niet op LinkedIn (<a href="/dev/linkedin">proefvoer</a>)
        </span>
      );
    const link = <a href={postUrl(post.post_urn)}>Bekijk op LinkedIn ({post.post_urn})</a>;
    return post.already_on_linkedin ? (
      <span>
        Stond al op LinkedIn: LinkedIn herkende deze tekst met deze link als een bestaand bericht en plaatste
        het niet opnieuw. Dit bericht telt als dat bericht: {link}
      </span>
    ) : (
      link
    );
  }
  if (post.last_error) return <span>{post.last_error}</span>;
  if (post.retry_at) return <span>Volgende poging: {formatDateTime(post.retry_at)}</span>;
  return null;
}

interface Preview {
  /** What readers see: the commentary after LinkedIn reads the escapes (and our cut, if too long). */
  visible: string;
  /** What is sent: escaped little text. */
  sent: string;
  length: number;
  truncated: boolean;
  title: string;
  description: string;
  domain: string;
  /** An image this page can show (https: the admin's CSP blocks http images). */
  imageUrl: string | null;
  /** An http image LinkedIn will get (our server fetches it), which this page cannot show. */
  imageNotShown: string | null;
  imageIsDefault: boolean;
}

async function previewOf(
  c: Context<AppEnv>,
  post: { commentary: string; title: string; description: string; link: string; imageUrl: string | null },
): Promise<Preview> {
  const sent = composeCommentary(post.commentary);
  const imageUrl = await effectiveImageUrl(c.var.deps.db, { image_url: post.imageUrl });
  let domain = '';
  try {
    domain = new URL(post.link).hostname.replace(/^www\./, '');
  } catch {
    // An unreadable link shows no domain; validation has already said why.
  }
  return {
    visible: unescapeLittleText(sent),
    sent,
    length: sent.length,
    truncated: escapedLength(post.commentary) > MAX_COMMENTARY,
    title: post.title,
    description: post.description,
    domain,
    imageUrl: safeUrl(imageUrl, 'image'),
    imageNotShown: safeUrl(imageUrl, 'image') === null ? safeUrl(imageUrl, 'fetchedImage') : null,
    imageIsDefault: post.imageUrl === null && imageUrl !== null,
  };
}

const previewStyles = `
.li-preview { border: 1px solid var(--border); border-radius: 8px; max-width: 36rem; padding: 1rem; }
.li-preview .commentary { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 0; }
.li-card { border: 1px solid var(--border); border-radius: 4px; overflow: hidden; }
.li-card img { display: block; width: 100%; aspect-ratio: 1.91 / 1; object-fit: cover; }
.li-card div { padding: .5rem .75rem; }
.li-card p { margin: .15rem 0; }
.li-card .card-title { font-weight: 700; }
.li-card .domain { color: var(--muted); }
`;

function PostPreview(props: { preview: Preview }) {
  const p = props.preview;
  return (
    <section aria-labelledby="voorbeeld-kop">
      <style>{previewStyles}</style>
      <h2 id="voorbeeld-kop">Voorbeeld op LinkedIn</h2>
      <p id="tekens">
        {numberFormat.format(p.length)} van {numberFormat.format(MAX_COMMENTARY)} tekens (zoals LinkedIn ze
        telt, met de escapes).
        {p.truncated ? ' De tekst is te lang en wordt ingekort tot wat hieronder staat.' : ''}
      </p>
      <div class="li-preview">
        <p class="commentary">{p.visible}</p>
        <div class="li-card">
          {p.imageUrl ? (
            <img src={p.imageUrl} alt={p.imageIsDefault ? 'Standaardafbeelding' : 'Afbeelding bij de link'} />
          ) : p.imageNotShown ? (
            <p>
              Afbeelding: {p.imageNotShown} (via http; hier alleen te zien bij een https-adres, LinkedIn
              krijgt haar wel).
            </p>
          ) : (
            <p>
              Geen afbeelding: het bericht gaat zonder plaatje in de linkkaart naar LinkedIn. Kies er een, of
              stel een standaardafbeelding in.
            </p>
          )}
          <div>
            <p class="card-title">{p.title}</p>
            <p>{p.description}</p>
            <p class="domain">{p.domain}</p>
          </div>
        </div>
      </div>
      <details>
        <summary>Tekst zoals hij naar LinkedIn gaat</summary>
        <pre>{p.sent}</pre>
      </details>
    </section>
  );
}

/** The count under the text; assets/commentary-counter.ts keeps it up to date while typing. */
function CommentaryCounter(props: { text: string }) {
  const length = escapedLength(props.text);
  return (
    <p id="tekenteller" class="hint" aria-live="polite">
      {numberFormat.format(length)} van {numberFormat.format(MAX_COMMENTARY)} tekens
      {length > MAX_COMMENTARY ? ': te lang, LinkedIn krijgt een ingekorte tekst.' : '.'}
    </p>
  );
}

const COUNTER_SCRIPT_PATH = '/admin/posts/assets/commentary-counter.js';

function PostFields(props: { values: PostFormValues; errors: FieldErrors; kindFixed?: boolean }) {
  const { values, errors } = props;
  return (
    <>
      {props.kindFixed ? null : (
        <SelectField
          name="kind"
          label="Soort"
          options={KIND_OPTIONS}
          value={text(values, 'kind')}
          errors={errors}
        />
      )}
      <Field
        name="commentary"
        label="Tekst van het bericht"
        multiline
        rows={8}
        required
        value={text(values, 'commentary')}
        errors={errors}
        hint={`Hoogstens ${numberFormat.format(MAX_COMMENTARY)} tekens. Tekens als # @ ( ) * _ krijgen voor LinkedIn een \\ ervoor en tellen dan dubbel; de lezer ziet ze gewoon.`}
      />
      <CommentaryCounter text={text(values, 'commentary')} />
      <Field name="link" label="Link" type="url" required value={text(values, 'link')} errors={errors} />
      <Field
        name="title"
        label="Titel van de link"
        required
        value={text(values, 'title')}
        errors={errors}
        hint="LinkedIn haalt de titel niet zelf op: deze staat in de linkkaart."
      />
      <Field
        name="description"
        label="Beschrijving van de link"
        multiline
        rows={3}
        required
        value={text(values, 'description')}
        errors={errors}
      />
      <Field
        name="imageUrl"
        label="Adres van de afbeelding"
        type="url"
        value={text(values, 'imageUrl')}
        errors={errors}
        hint="Leeg: de standaardafbeelding uit de instellingen."
      />
      <Field
        name="scheduledAt"
        label="Publiceren op"
        type="datetime-local"
        value={text(values, 'scheduledAt')}
        errors={errors}
        hint="Nederlandse tijd. Leeg: meteen zodra het bericht is ingepland of goedgekeurd."
      />
    </>
  );
}

function ComposePage(props: {
  c: Context<AppEnv>;
  values: PostFormValues;
  errors: FieldErrors;
  preview: Preview | null;
}) {
  return (
    <AdminPage c={props.c} title="Nieuw LinkedIn-bericht">
      <script src={COUNTER_SCRIPT_PATH} defer />
      <ErrorSummary errors={props.errors} />
      {props.preview ? <PostPreview preview={props.preview} /> : null}
      <PostForm c={props.c} action="/admin/posts">
        <PostFields values={props.values} errors={props.errors} />
        <div class="actions">
          <button type="submit" name="intent" value="preview" class="secondary">
            Voorbeeld bekijken
          </button>
          <button type="submit" name="intent" value="draft" class="secondary">
            Opslaan als concept
          </button>
          <button type="submit" name="intent" value="schedule">
            Opslaan en inplannen
          </button>
        </div>
      </PostForm>
    </AdminPage>
  );
}

function EditPage(props: { c: Context<AppEnv>; post: PostRow; values: PostFormValues; errors: FieldErrors }) {
  return (
    <AdminPage c={props.c} title={`Bericht bewerken: ${props.post.title}`}>
      <script src={COUNTER_SCRIPT_PATH} defer />
      <ErrorSummary errors={props.errors} />
      <PostForm c={props.c} action={`/admin/posts/${props.post.id}/edit`}>
        <PostFields values={props.values} errors={props.errors} kindFixed={props.post.kind === 'edition'} />
        <div class="actions">
          <button type="submit">Opslaan</button>
          <a href={`/admin/posts/${props.post.id}`}>Terug naar het bericht</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

async function detailPage(c: Context<AppEnv>, post: PostRow, errors: FieldErrors) {
  const attempts = await postAttempts(c.var.deps.db, post.id);
  const preview = await previewOf(c, { ...post, imageUrl: post.image_url });
  const editor = canEdit(c);
  // Only the time has a field on this page; other rules (e.g. no image) are told as a message.
  const { scheduledAt, ...otherErrors } = errors;
  return (
    <AdminPage c={c} title={post.title}>
      <Notice c={c} messages={OK_MESSAGES} />
      <ErrorSummary
        errors={scheduledAt ? { scheduledAt } : {}}
        message={Object.values(otherErrors).join(' ') || undefined}
      />
      <dl>
        <dt>Soort</dt>
        <dd>{KIND_LABELS[post.kind]}</dd>
        <dt>Status</dt>
        <dd>
          <span class="badge">{STATUS_LABELS[post.status]}</span> <PostOutcome post={post} />
        </dd>
        <dt>Gepland</dt>
        <dd>{formatDateTime(post.scheduled_at)}</dd>
        {post.published_at ? (
          <>
            <dt>Gepubliceerd</dt>
            <dd>{formatDateTime(post.published_at)}</dd>
          </>
        ) : null}
        <dt>Link</dt>
        <dd>{safeUrl(post.link, 'web') ? <a href={post.link}>{post.link}</a> : post.link}</dd>
        <dt>Pogingen</dt>
        <dd>{post.attempts}</dd>
      </dl>
      {editor ? <PostActions c={c} post={post} errors={errors} /> : null}
      <PostPreview preview={preview} />
      <h2>Pogingen bij LinkedIn</h2>
      <DataTable
        caption="Elke poging met het antwoord van LinkedIn"
        columns={ATTEMPT_COLUMNS}
        rows={attempts}
        rowKey={(attempt) => attempt.id}
        empty="Nog geen pogingen."
      />
      <p>
        <a href="/admin/posts">Alle berichten</a>
      </p>
    </AdminPage>
  );
}

/** The actions the post's status allows (the domain's rules), for editors. */
function PostActions(props: { c: Context<AppEnv>; post: PostRow; errors: FieldErrors }) {
  const { c, post } = props;
  const base = `/admin/posts/${post.id}`;
  const schedulable = SCHEDULABLE.includes(post.status);
  if (!schedulable && !EDITABLE.includes(post.status) && !CANCELLABLE.includes(post.status)) return null;
  const scheduleLabel =
    post.status === 'draft'
      ? 'Inplannen'
      : post.status === 'scheduled'
        ? 'Opnieuw inplannen'
        : 'Opnieuw versturen';
  return (
    <section aria-labelledby="acties-kop">
      <h2 id="acties-kop">Acties</h2>
      <div class="actions">
        {post.status === 'draft' ? (
          <ActionButton c={c} action={`${base}/approve`} label="Goedkeuren" />
        ) : null}
        {EDITABLE.includes(post.status) ? <a href={`${base}/edit`}>Bewerken</a> : null}
        {CANCELLABLE.includes(post.status) ? (
          <ActionButton c={c} action={`${base}/cancel`} label="Annuleren" variant="danger" />
        ) : null}
      </div>
      {schedulable ? (
        <PostForm c={c} action={`${base}/schedule`}>
          <Field
            name="scheduledAt"
            label="Publiceren op"
            type="datetime-local"
            value={post.scheduled_at ? instantToAmsterdamLocal(post.scheduled_at) : ''}
            errors={props.errors}
            hint="Nederlandse tijd. Leeg of voorbij: nu."
          />
          <button type="submit" class="secondary">
            {scheduleLabel}
          </button>
        </PostForm>
      ) : null}
    </section>
  );
}
