/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import { EditionInputSchema, TestSendSchema } from '../../api/routes/editions.js';
import type { DeliveryStatus, EditionStatus } from '../../db/schema.js';
import { canResendFailed, resendFailed } from '../../domain/deliveries.js';
import { slugify } from '../../domain/documents.js';
import { previewEdition, sendTestEdition, TEST_SENDS_PER_HOUR } from '../../domain/edition-preview.js';
import {
  DELIVERY_STATUSES,
  deliveryLog,
  type EditionStats,
  editionStats,
} from '../../domain/edition-stats.js';
import {
  createEdition,
  deleteEdition,
  type EditionAction,
  type EditionView,
  editionActions,
  editionHistory,
  getEdition,
  isDeletable,
  isEditable,
  listEditions,
  transitionEdition,
  updateEdition,
} from '../../domain/editions.js';
import {
  Conflict,
  DomainError,
  EditedMeanwhile,
  Forbidden,
  Invalid,
  NotFound,
  TooManyRequests,
} from '../../domain/errors.js';
import { listTopics } from '../../domain/topics.js';
import { roleAtLeast } from '../../domain/users.js';
import { SANDBOXED_HTML_HEADERS, sandboxedHtml } from '../sandboxed-html.js';
import { adminArea } from './area.js';
import { EDITION_PREVIEW_SCRIPT } from './assets/edition-preview.js';
import { amsterdamDateTimeField, instantToAmsterdamLocal } from './datetime.js';
import {
  afterSave,
  applyOp,
  BlockEditor,
  draftOfEdition,
  draftOfForm,
  type EditionDraft,
  EditionFields,
  editionInputOf,
  explainBlockErrors,
  KIND_LABELS,
  parseOp,
  withAdditions,
} from './edition-editor.js';
import {
  ActionButton,
  AdminPage,
  adminAccess,
  adminErrorPage,
  domainFieldErrors,
  ErrorSummary,
  Field,
  type FieldErrors,
  formatDateTime,
  Notice,
  numberFormat,
  PostForm,
  readForm,
  SelectField,
  TableRegion,
  validateForm,
} from './ui.js';

/**
 * /admin/editions: the list, a new edition, the block editor with its preview, the life cycle
 * (submit, approve by a second editor, schedule in Amsterdam time, send, pause, cancel), test
 * sends, statistics and the delivery log. Every change calls the same domain function as the API.
 */

export const STATUS_LABELS: Record<EditionStatus, string> = {
  draft: 'Concept',
  in_review: 'Ter beoordeling',
  approved: 'Goedgekeurd',
  scheduled: 'Ingepland',
  sending: 'Wordt verzonden',
  sent: 'Verzonden',
  paused: 'Gepauzeerd',
  cancelled: 'Geannuleerd',
  failed: 'Mislukt',
};

export const DELIVERY_LABELS: Record<DeliveryStatus, string> = {
  queued: 'In de wachtrij',
  sent: 'Verzonden, nog geen uitslag',
  delivered: 'Afgeleverd',
  bounced: 'Harde bounce',
  soft_bounced: 'Zachte bounce',
  complained: 'Klacht (spam)',
  failed: 'Mislukt',
  suppressed: 'Geblokkeerd adres',
  cancelled: 'Geannuleerd',
};

/** The status as text in a badge: never by colour alone. */
export function StatusBadge(props: { status: EditionStatus }) {
  return <span class="badge">{STATUS_LABELS[props.status]}</span>;
}

/** Sent / total of a send, as a progress bar with the figures in words beside it. */
export function SendProgress(props: { processed: number; total: number; sent: number; id: string }) {
  const percent = props.total > 0 ? Math.floor((props.processed / props.total) * 1000) / 10 : 0;
  return (
    <div>
      <label for={`voortgang-${props.id}`}>
        Voortgang: {numberFormat.format(props.processed)} van {numberFormat.format(props.total)} verwerkt (
        {percent.toLocaleString('nl-NL')} %), waarvan {numberFormat.format(props.sent)} door de provider
        aangenomen
      </label>
      <progress id={`voortgang-${props.id}`} max={props.total} value={props.processed}>
        {percent} %
      </progress>
    </div>
  );
}

const offsetFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Amsterdam',
  timeZoneName: 'longOffset',
});

/** "29 mrt 2026, 10:00 (UTC+02:00; 08:00 UTC)": the Amsterdam time with its offset and the UTC instant. */
export function formatWithOffset(instant: Date): string {
  const zone = offsetFormat.formatToParts(instant).find((part) => part.type === 'timeZoneName')?.value ?? '';
  const offset = zone === 'GMT' ? 'UTC+00:00' : zone.replace('GMT', 'UTC');
  const utc = instant.toISOString().slice(0, 16).replace('T', ' ');
  return `${formatDateTime(instant)} (${offset}; ${utc} UTC)`;
}

const OK_MESSAGES: Record<string, string> = {
  created: 'De editie is aangemaakt. Voeg nu de inhoud toe.',
  saved: 'Opgeslagen.',
  submitted: 'Aangeboden ter beoordeling: een andere redacteur kan de editie nu goedkeuren.',
  'changes-requested': 'Teruggestuurd naar concept.',
  approved: 'Goedgekeurd. U kunt de editie nu inplannen of direct verzenden.',
  scheduled: 'Ingepland.',
  sending: 'Het verzenden is begonnen.',
  cancelled: 'Geannuleerd.',
  paused: 'Gepauzeerd.',
  resumed: 'Hervat: het verzenden gaat verder.',
  reopened: 'De editie is weer een concept.',
  'test-sent': 'De testversie is onderweg.',
  resent: 'De mislukte adressen krijgen de editie opnieuw.',
  deleted: 'De editie is verwijderd.',
};

/**
 * The life-cycle buttons: the domain action each one calls and the notice after it. Those with a
 * label are shown in a row when the status allows them; "send now" and "cancel" ask first.
 */
const ACTION_ROUTES: {
  path: string;
  action: EditionAction;
  ok: string;
  label?: string;
  variant?: 'secondary';
}[] = [
  { path: 'submit', action: 'submit', ok: 'submitted', label: 'Ter beoordeling aanbieden' },
  { path: 'approve', action: 'approve', ok: 'approved', label: 'Goedkeuren' },
  { path: 'request-changes', action: 'requestChanges', ok: 'changes-requested' },
  { path: 'pause', action: 'pause', ok: 'paused', label: 'Verzenden pauzeren' },
  { path: 'resume', action: 'resume', ok: 'resumed', label: 'Verzenden hervatten' },
  { path: 'reopen', action: 'reopen', ok: 'reopened', label: 'Weer een concept maken', variant: 'secondary' },
  { path: 'send', action: 'schedule', ok: 'sending' },
  { path: 'cancel', action: 'cancel', ok: 'cancelled' },
];

const PAGE_SIZE = 25;
const HOUR_MS = 60 * 60 * 1000;

const StatusFilter = z
  .enum(Object.keys(STATUS_LABELS) as [EditionStatus, ...EditionStatus[]])
  .optional()
  .catch(undefined);
const ListQuery = z.object({
  status: StatusFilter,
  q: z.string().trim().max(200).optional().catch(undefined),
  locale: z.enum(['nl', 'en']).optional().catch(undefined),
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .catch(undefined),
});
/** An editor's note with a change (sending a draft back says what should change). */
const NoteSchema = z.object({ note: z.string().trim().max(1000, 'Hoogstens 1000 tekens.') });
const PreviewQuery = z.object({
  locale: z.enum(['nl', 'en']).catch('nl'),
  format: z.enum(['html', 'text']).catch('html'),
});
const LogQuery = z.object({
  q: z.string().trim().max(254).optional().catch(undefined),
  status: z
    .enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]])
    .optional()
    .catch(undefined),
  after: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional()
    .catch(undefined),
});

const canEdit = (c: Context<AppEnv>) => roleAtLeast(c.var.principal!.role, 'editor');

async function topicOptions(c: Context<AppEnv>) {
  const topics = await listTopics(c.var.deps.db);
  return topics.map((t) => ({
    value: t.slug,
    label: `${t.name_nl} (${numberFormat.format(Number(t.active_subscribers ?? 0))} abonnees)`,
  }));
}

/* ------------------------------------------------------------------------------------- preview */

const PREVIEW_VIEWS = [
  { locale: 'nl', width: 'desktop', label: 'Nederlands, computer' },
  { locale: 'nl', width: 'mobiel', label: 'Nederlands, telefoon (375 px)' },
  { locale: 'en', width: 'desktop', label: 'Engels, computer' },
  { locale: 'en', width: 'mobiel', label: 'Engels, telefoon (375 px)' },
] as const;
const FRAME_WIDTHS = { desktop: '100%', mobiel: '375px' } as const;

/**
 * The email as readers get it, in a sandboxed frame, in either language at a computer's or a
 * phone's width. Plain links choose the view; the small script switches it in place.
 */
function PreviewPanel(props: { c: Context<AppEnv>; edition: EditionView; pagePath: string }) {
  const { c, edition } = props;
  const chosen =
    PREVIEW_VIEWS.find((v) => v.locale === c.req.query('voorbeeld') && v.width === c.req.query('breedte')) ??
    PREVIEW_VIEWS.find((v) => v.locale === edition.locale)!;
  // The edit time in the address: after a save the frame loads the new version.
  const version = edition.updated_at.getTime();
  const src = (locale: string, format = 'html') =>
    `/admin/editions/${edition.id}/preview?locale=${locale}&format=${format}&v=${version}`;
  return (
    <section aria-labelledby="voorbeeld" data-preview>
      <h2 id="voorbeeld">Voorbeeld</h2>
      <p>
        Zo ziet de lezer de laatst opgeslagen versie. Persoonlijke links wijzen in het voorbeeld naar het
        aanmeldformulier.
      </p>
      <ul class="actions" aria-label="Kies taal en breedte van het voorbeeld">
        {PREVIEW_VIEWS.map((view) => (
          <li key={view.label} style="list-style: none">
            <a
              href={`${props.pagePath}?voorbeeld=${view.locale}&breedte=${view.width}#voorbeeld`}
              aria-current={view === chosen ? 'true' : undefined}
              data-src={src(view.locale)}
              data-text={src(view.locale, 'text')}
              data-width={FRAME_WIDTHS[view.width]}
              data-title={`Voorbeeld van de e-mail: ${view.label}`}
            >
              {view === chosen ? <strong>{view.label}</strong> : view.label}
            </a>
          </li>
        ))}
      </ul>
      <iframe
        title={`Voorbeeld van de e-mail: ${chosen.label}`}
        sandbox=""
        src={src(chosen.locale)}
        style={`width: ${FRAME_WIDTHS[chosen.width]}`}
      />
      <p>
        <a href={src(chosen.locale, 'text')} data-preview-text>
          Tekstversie van het voorbeeld
        </a>
      </p>
      <script src="/admin/editions/assets/edition-preview.js" defer />
    </section>
  );
}

/* ------------------------------------------------------------------------------------- errors */

/** A refused action in Dutch: field errors where the domain names a field, otherwise one message. */
function refusal(
  error: DomainError,
  edition: EditionView,
  action?: EditionAction | 'test-send',
): { errors: FieldErrors; message?: string } {
  const fields = domainFieldErrors(error);
  if (fields && !fields.form) return { errors: fields };
  if (error instanceof Forbidden && action === 'approve') {
    return {
      errors: {},
      message:
        'Vierogenprincipe: u heeft deze editie als laatste bewerkt, dus een andere redacteur moet haar goedkeuren.',
    };
  }
  if (error instanceof TooManyRequests) {
    const minutes = Math.max(1, Math.ceil(error.retryAfterSeconds / 60));
    return {
      errors: {},
      message: `U kunt hoogstens ${TEST_SENDS_PER_HOUR} testversies per uur versturen. Probeer het over ${minutes} minuten opnieuw.`,
    };
  }
  if (error instanceof Conflict) {
    return {
      errors: {},
      message: `Dat kan nu niet: de editie is "${STATUS_LABELS[edition.status]}". Hieronder staat de actuele stand.`,
    };
  }
  return { errors: {}, message: error instanceof Invalid ? 'De invoer is niet geldig.' : error.message };
}

/* ------------------------------------------------------------------------------------- pages */

interface EditionPageState {
  status?: 200 | DomainError['status'];
  errors?: FieldErrors;
  message?: string;
  /** What was typed in the schedule and test-send forms, when they are shown again. */
  values?: Record<string, string>;
  /** The typed send time happens twice (the autumn hour): offer both. */
  ambiguous?: { first: Date; second: Date };
}

async function editionPage(c: Context<AppEnv>, id: string, state: EditionPageState = {}) {
  const { db } = c.var.deps;
  const edition = await getEdition(db, id);
  const [history, stats] = await Promise.all([editionHistory(db, id), editionStats(db, id)]);
  const editor = canEdit(c);
  const actions = new Set(editor ? editionActions(edition.status) : []);
  const errors = state.errors ?? {};
  const values = state.values ?? {};
  const principal = c.var.principal!;
  const base = `/admin/editions/${id}`;
  return c.html(
    <AdminPage c={c} title={edition.title}>
      <Notice c={c} messages={OK_MESSAGES} />
      <ErrorSummary errors={errors} message={state.message} />
      <p>
        Status: <StatusBadge status={edition.status} />
        {edition.paused_reason ? ` — reden: ${edition.paused_reason}` : ''}
      </p>
      <dl>
        <dt>Onderwerpregel</dt>
        <dd>{edition.subject}</dd>
        {edition.preheader ? (
          <>
            <dt>Voorvertoningstekst</dt>
            <dd>{edition.preheader}</dd>
          </>
        ) : null}
        <dt>Webadres</dt>
        <dd>/nieuwsbrieven/{edition.slug}</dd>
        <dt>Taal van de inhoud</dt>
        <dd>{edition.locale === 'en' ? 'Engels' : 'Nederlands'}</dd>
        <dt>Onderwerpen</dt>
        <dd>{edition.topics.join(', ') || '—'}</dd>
        <dt>Soorten organisaties</dt>
        <dd>{edition.organisation_kinds.map((kind) => KIND_LABELS[kind]).join(', ') || 'iedereen'}</dd>
        <dt>Openingen meten</dt>
        <dd>{edition.open_tracking ? 'ja' : 'nee'}</dd>
        {edition.send_at ? (
          <>
            <dt>Verzendmoment</dt>
            <dd>{formatWithOffset(edition.send_at)}</dd>
          </>
        ) : null}
        {edition.sent_at ? (
          <>
            <dt>Verzonden op</dt>
            <dd>{formatDateTime(edition.sent_at)}</dd>
          </>
        ) : null}
      </dl>

      {editor ? (
        <section aria-labelledby="acties">
          <h2 id="acties">Acties</h2>
          {actions.has('approve') && edition.last_edited_by === principal.user.id ? (
            <p class="hint">
              U heeft deze editie als laatste bewerkt: volgens het vierogenprincipe keurt een andere redacteur
              haar goed.
            </p>
          ) : null}
          <div class="actions">
            {isEditable(edition.status) ? <a href={`${base}/edit`}>Inhoud bewerken</a> : null}
            {ACTION_ROUTES.filter((route) => route.label && actions.has(route.action)).map((route) => (
              <ActionButton
                key={route.path}
                c={c}
                action={`${base}/${route.path}`}
                label={route.label!}
                variant={route.variant}
              />
            ))}
            {canResendFailed(edition.status) && stats.failed > 0 ? (
              <ActionButton
                c={c}
                action={`${base}/resend-failed`}
                label={`Opnieuw versturen naar de ${numberFormat.format(stats.failed)} mislukte adressen`}
              />
            ) : null}
          </div>
          {actions.has('requestChanges') ? (
            <details>
              <summary>Terugsturen naar concept…</summary>
              <PostForm c={c} action={`${base}/request-changes`}>
                <Field
                  name="note"
                  label="Wat moet er anders? (optioneel)"
                  multiline
                  rows={3}
                  value={values.note ?? ''}
                  errors={errors}
                  hint="Komt in de geschiedenis van de editie."
                />
                <button type="submit" class="secondary">
                  Terugsturen naar concept
                </button>
              </PostForm>
            </details>
          ) : null}
          {actions.has('schedule') ? (
            <ScheduleForm
              c={c}
              edition={edition}
              errors={errors}
              values={values}
              ambiguous={state.ambiguous}
            />
          ) : null}
          {actions.has('cancel') || isDeletable(edition) ? (
            <details>
              <summary>{actions.has('cancel') ? 'Annuleren…' : 'Verwijderen…'}</summary>
              {actions.has('cancel') ? (
                <p>
                  {edition.status === 'sending' || edition.status === 'paused'
                    ? 'Wie de editie nog niet kreeg, krijgt haar niet meer.'
                    : 'De editie wordt niet verzonden; u kunt er later weer een concept van maken.'}{' '}
                  <ActionButton c={c} action={`${base}/cancel`} label="Ja, annuleren" variant="danger" />
                </p>
              ) : (
                <p>
                  De editie en haar geschiedenis verdwijnen.{' '}
                  <ActionButton c={c} action={`${base}/delete`} label="Ja, verwijderen" variant="danger" />
                </p>
              )}
            </details>
          ) : null}
        </section>
      ) : null}

      {stats.recipients > 0 ? (
        <section aria-labelledby="verzending">
          <h2 id="verzending">Verzending</h2>
          <SendProgress
            id={id}
            processed={stats.progress.processed}
            total={stats.progress.total}
            sent={stats.sent}
          />
          <p>
            <a href={`${base}/stats`}>Statistieken en verzendlog</a>
          </p>
        </section>
      ) : null}

      <PreviewPanel c={c} edition={edition} pagePath={base} />

      {editor ? <TestSendForm c={c} edition={edition} errors={errors} values={values} /> : null}

      <section aria-labelledby="geschiedenis">
        <h2 id="geschiedenis">Geschiedenis</h2>
        <TableRegion label="Geschiedenis van de editie">
          <table>
            <thead>
              <tr>
                <th scope="col">Wanneer</th>
                <th scope="col">Door</th>
                <th scope="col">Van</th>
                <th scope="col">Naar</th>
                <th scope="col">Toelichting</th>
              </tr>
            </thead>
            <tbody>
              {history.map((event) => (
                <tr key={event.id}>
                  <td>{formatDateTime(event.at)}</td>
                  <td>{event.actor_email ?? 'het systeem'}</td>
                  <td>{event.from_status ? STATUS_LABELS[event.from_status] : '—'}</td>
                  <td>{STATUS_LABELS[event.to_status]}</td>
                  <td>{historyNote(event.note)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </section>
    </AdminPage>,
    state.status ?? 200,
  );
}

/** The notes the domain and the workers write, in words; an editor's own note shows as written. */
const HISTORY_NOTES: Record<string, string> = {
  created: 'aangemaakt',
  submit: 'ter beoordeling aangeboden',
  requestChanges: 'teruggestuurd naar concept',
  approve: 'goedgekeurd',
  schedule: 'ingepland',
  cancel: 'geannuleerd',
  pause: 'gepauzeerd',
  resume: 'hervat',
  reopen: 'weer concept',
  'edited after approval': 'gewijzigd na goedkeuring: opnieuw goedkeuren',
  'send started': 'verzenden begonnen',
};

function historyNote(note: string | null): string {
  if (!note) return '';
  const finished = /^(\d+) of (\d+) sent$/.exec(note);
  if (finished) return `${finished[1]} van ${finished[2]} verzonden`;
  const resent = /^resend (\d+) failed$/.exec(note);
  if (resent) return `${resent[1]} mislukte opnieuw verstuurd`;
  return HISTORY_NOTES[note] ?? note;
}

function ScheduleForm(props: {
  c: Context<AppEnv>;
  edition: EditionView;
  errors: FieldErrors;
  values: Record<string, string>;
  ambiguous: EditionPageState['ambiguous'];
}) {
  const { c, edition, errors, ambiguous } = props;
  const base = `/admin/editions/${edition.id}`;
  const current = edition.send_at ? instantToAmsterdamLocal(edition.send_at) : '';
  return (
    <>
      <PostForm c={c} action={`${base}/schedule`}>
        <h3>{edition.status === 'scheduled' ? 'Ander verzendmoment' : 'Inplannen'}</h3>
        <Field
          name="sendAt"
          label="Verzenden op (Nederlandse tijd)"
          type="datetime-local"
          value={props.values.sendAt ?? current}
          errors={errors}
          required
          hint="Datum en tijd in Nederland (Europe/Amsterdam); zomer- en wintertijd rekenen we om."
        />
        {ambiguous ? (
          <fieldset>
            <legend>Welke keer bedoelt u?</legend>
            <label class="check">
              <input type="radio" name="occurrence" value="first" required />
              De eerste keer, nog zomertijd: {formatWithOffset(ambiguous.first)}
            </label>
            <label class="check">
              <input type="radio" name="occurrence" value="second" />
              De tweede keer, al wintertijd: {formatWithOffset(ambiguous.second)}
            </label>
          </fieldset>
        ) : null}
        <button type="submit">{edition.status === 'scheduled' ? 'Opnieuw inplannen' : 'Inplannen'}</button>
      </PostForm>
      <details>
        <summary>Nu verzenden…</summary>
        <p>
          De editie gaat direct naar alle ontvangers.{' '}
          <ActionButton c={c} action={`${base}/send`} label="Ja, nu verzenden" />
        </p>
      </details>
    </>
  );
}

function TestSendForm(props: {
  c: Context<AppEnv>;
  edition: EditionView;
  errors: FieldErrors;
  values: Record<string, string>;
}) {
  const { c, edition, errors, values } = props;
  return (
    <section aria-labelledby="testversie">
      <h2 id="testversie">Testversie versturen</h2>
      <PostForm c={c} action={`/admin/editions/${edition.id}/test-send`}>
        <Field
          name="to"
          label="Naar (hoogstens 10 adressen)"
          multiline
          rows={3}
          value={values.to ?? c.var.principal!.user.email}
          errors={errors}
          required
          hint="Eén adres per regel, of gescheiden door komma's. De testversie is gemarkeerd en telt niet mee in de statistieken."
        />
        <SelectField
          name="locale"
          label="Taal van de lezer"
          value={values.locale ?? edition.locale}
          options={[
            { value: 'nl', label: 'Nederlands' },
            { value: 'en', label: 'Engels' },
          ]}
          errors={errors}
        />
        <button type="submit">Testversie versturen</button>
      </PostForm>
    </section>
  );
}

function EditorPage(props: {
  c: Context<AppEnv>;
  edition: EditionView;
  draft: EditionDraft;
  topics: { value: string; label: string }[];
  errors: FieldErrors;
  message?: string;
}) {
  const { c, edition, draft, errors } = props;
  const base = `/admin/editions/${edition.id}`;
  return (
    <AdminPage c={c} title={`Bewerken: ${edition.title}`}>
      <Notice c={c} messages={OK_MESSAGES} />
      <ErrorSummary errors={errors} message={props.message} />
      <p>
        Status: <StatusBadge status={edition.status} /> · <a href={base}>Terug naar de editie</a>
      </p>
      {edition.status === 'approved' || edition.status === 'scheduled' ? (
        <p class="warning">
          Deze editie is al goedgekeurd{edition.status === 'scheduled' ? ' en ingepland' : ''}. Wie nu iets
          opslaat, maakt er weer een concept van: zij moet dan opnieuw worden goedgekeurd en ingepland.
        </p>
      ) : null}
      <PostForm c={c} action={`${base}/edit`} id="editie-formulier">
        {/* The version this form edits: a save based on an older one is refused. */}
        <input type="hidden" name="basedOn" value={String(edition.updated_at.getTime())} />
        <div class="actions">
          <button type="submit" name="op" value="save">
            Opslaan
          </button>
        </div>
        <EditionFields draft={draft} errors={errors} topics={props.topics} />
        <BlockEditor blocks={draft.blocks} errors={errors} />
        <div class="actions">
          <button type="submit" name="op" value="save">
            Opslaan
          </button>
        </div>
      </PostForm>
      <PreviewPanel c={c} edition={edition} pagePath={`${base}/edit`} />
    </AdminPage>
  );
}

function NewEditionPage(props: {
  c: Context<AppEnv>;
  draft: EditionDraft;
  topics: { value: string; label: string }[];
  errors: FieldErrors;
}) {
  return (
    <AdminPage c={props.c} title="Nieuwe editie">
      <ErrorSummary errors={props.errors} />
      <PostForm c={props.c} action="/admin/editions/new">
        <EditionFields draft={props.draft} errors={props.errors} topics={props.topics} creating />
        <button type="submit">Aanmaken en inhoud toevoegen</button>
      </PostForm>
    </AdminPage>
  );
}

const emptyDraft = (): EditionDraft => ({
  title: '',
  subject: '',
  preheader: '',
  slug: '',
  locale: 'nl',
  topics: [],
  organisationKinds: [],
  openTracking: false,
  imageUrl: '',
  blocks: [],
});

/* ------------------------------------------------------------------------------------- routes */

const ID = ':id{[0-9]{1,18}}';

export function editionPages() {
  const app = adminArea('viewer');
  const editor = adminAccess('editor');
  app.onError((error, c) =>
    adminErrorPage(error instanceof NotFound ? new NotFound('Deze editie bestaat niet (meer).') : error, c),
  );

  /** Runs a change; a refusal shows the edition page again with the reason, in Dutch. */
  const attempt = async (
    c: Context<AppEnv>,
    id: string,
    change: () => Promise<unknown>,
    ok: string,
    options: { action?: EditionAction | 'test-send'; values?: Record<string, string> } = {},
  ) => {
    try {
      await change();
    } catch (error) {
      if (!(error instanceof DomainError) || error instanceof NotFound) throw error;
      const edition = await getEdition(c.var.deps.db, id);
      const { errors, message } = refusal(error, edition, options.action);
      return editionPage(c, id, {
        status: error.status,
        errors,
        message,
        values: options.values,
      });
    }
    return c.redirect(`/admin/editions/${id}?ok=${ok}`, 303);
  };

  app.get('/assets/edition-preview.js', (c) =>
    c.body(EDITION_PREVIEW_SCRIPT, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'private, max-age=3600',
    }),
  );

  app.get('/', async (c) => {
    const query = ListQuery.parse(c.req.query());
    const rows = await listEditions(c.var.deps.db, { ...query, limit: PAGE_SIZE + 1 });
    const page = rows.slice(0, PAGE_SIZE);
    const next = rows.length > PAGE_SIZE ? page[page.length - 1]!.id : null;
    const filters = new URLSearchParams(
      Object.entries({ status: query.status, q: query.q, locale: query.locale }).filter(
        (entry): entry is [string, string] => Boolean(entry[1]),
      ),
    );
    return c.html(
      <AdminPage c={c} title="Edities">
        <Notice c={c} messages={OK_MESSAGES} />
        {canEdit(c) ? (
          <p>
            <a href="/admin/editions/new">Nieuwe editie</a>
          </p>
        ) : null}
        <form method="get" action="/admin/editions" aria-label="Edities zoeken">
          <Field name="q" label="Zoeken in titel en onderwerpregel" type="search" value={query.q ?? ''} />
          <SelectField
            name="status"
            label="Status"
            value={query.status ?? ''}
            options={[
              { value: '', label: 'Alle' },
              ...Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label })),
            ]}
          />
          <SelectField
            name="locale"
            label="Taal"
            value={query.locale ?? ''}
            options={[
              { value: '', label: 'Alle' },
              { value: 'nl', label: 'Nederlands' },
              { value: 'en', label: 'Engels' },
            ]}
          />
          <button type="submit">Filteren</button>
        </form>
        {page.length === 0 ? (
          <p>Geen edities gevonden.</p>
        ) : (
          <TableRegion label="Edities">
            <table>
              <thead>
                <tr>
                  <th scope="col">Titel</th>
                  <th scope="col">Status</th>
                  <th scope="col">Taal</th>
                  <th scope="col">Verzendmoment</th>
                  <th scope="col">Laatst gewijzigd</th>
                </tr>
              </thead>
              <tbody>
                {page.map((row) => (
                  <tr key={row.id}>
                    <td>
                      <a href={`/admin/editions/${row.id}`}>{row.title}</a>
                    </td>
                    <td>
                      <StatusBadge status={row.status} />
                    </td>
                    <td>{row.locale === 'en' ? 'Engels' : 'Nederlands'}</td>
                    <td>{formatDateTime(row.sent_at ?? row.send_at)}</td>
                    <td>{formatDateTime(row.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
        <nav aria-label="Pagina's" class="actions">
          {query.before ? <a href={`/admin/editions?${filters}`}>Eerste pagina</a> : null}
          {next ? (
            <a href={`/admin/editions?${new URLSearchParams([...filters, ['before', next]])}`}>
              Volgende pagina
            </a>
          ) : null}
        </nav>
      </AdminPage>,
    );
  });

  app.get('/new', editor, async (c) =>
    c.html(<NewEditionPage c={c} draft={emptyDraft()} topics={await topicOptions(c)} errors={{}} />),
  );

  app.post('/new', editor, async (c) => {
    const draft = draftOfForm(await readForm(c));
    if (draft.slug.trim() === '' && draft.title.trim() !== '') draft.slug = slugify(draft.title, 'editie');
    const refuse = async (errors: FieldErrors) =>
      c.html(<NewEditionPage c={c} draft={draft} topics={await topicOptions(c)} errors={errors} />, 422);
    const result = validateForm(EditionInputSchema, editionInputOf(draft));
    if (!result.ok) return refuse(result.errors);
    try {
      const edition = await c.var.deps.db
        .transaction()
        .execute((tx) => createEdition(tx, c.var.principal!, result.data));
      return c.redirect(`/admin/editions/${edition.id}/edit?ok=created`, 303);
    } catch (error) {
      const fields = domainFieldErrors(error);
      if (fields) return refuse(fields);
      throw error;
    }
  });

  app.get(`/${ID}`, (c) => editionPage(c, c.req.param('id')));

  app.get(`/${ID}/edit`, editor, async (c) => {
    const edition = await getEdition(c.var.deps.db, c.req.param('id'));
    if (!isEditable(edition.status)) return c.redirect(`/admin/editions/${edition.id}`, 303);
    const draft = withAdditions(draftOfEdition(edition), {
      add: c.req.query('add'),
      addLink: c.req.query('add-link'),
    });
    return c.html(
      <EditorPage c={c} edition={edition} draft={draft} topics={await topicOptions(c)} errors={{}} />,
    );
  });

  app.post(`/${ID}/edit`, editor, async (c) => {
    const id = c.req.param('id');
    const { db } = c.var.deps;
    const form = await readForm(c);
    const op = parseOp(typeof form.op === 'string' ? form.op : undefined);
    const edition = await getEdition(db, id);
    const draft = applyOp(draftOfForm(form), op ?? { kind: 'save' });
    const refuse = async (errors: FieldErrors, status: 409 | 422, message?: string) =>
      c.html(
        <EditorPage
          c={c}
          edition={edition}
          draft={draft}
          topics={await topicOptions(c)}
          errors={errors}
          message={message}
        />,
        status,
      );
    if (!op) return refuse({}, 422, 'Onbekende knop; er is niets opgeslagen.');
    const result = validateForm(EditionInputSchema, editionInputOf(draft));
    if (!result.ok) return refuse(explainBlockErrors(result.errors), 422);
    const basedOn = typeof form.basedOn === 'string' && /^\d{1,15}$/.test(form.basedOn) ? form.basedOn : null;
    try {
      await db.transaction().execute((tx) =>
        updateEdition(tx, c.var.principal!, id, result.data, {
          basedOn: basedOn ? new Date(Number(basedOn)) : undefined,
        }),
      );
    } catch (error) {
      const fields = domainFieldErrors(error);
      if (fields) return refuse(fields, 422);
      if (error instanceof EditedMeanwhile) {
        // The form comes back with this person's changes, now based on the version saved meanwhile:
        // saving again is a deliberate choice to replace it.
        const current = await getEdition(db, id);
        return c.html(
          <EditorPage
            c={c}
            edition={current}
            draft={draft}
            topics={await topicOptions(c)}
            errors={{}}
            message={`Iemand anders heeft deze editie opgeslagen op ${formatDateTime(current.updated_at)}, nadat je haar opende. Jouw wijzigingen hieronder zijn niet opgeslagen. Bekijk eerst de huidige versie (via "Terug naar de editie", in een nieuw tabblad); wie nu opslaat, vervangt die door de versie hieronder.`}
          />,
          409,
        );
      }
      if (error instanceof Conflict) {
        const now = await getEdition(db, id);
        return refuse(
          {},
          409,
          `Deze editie kan niet meer worden bewerkt: zij is "${STATUS_LABELS[now.status]}".`,
        );
      }
      throw error;
    }
    return c.redirect(afterSave(id, draft, op), 303);
  });

  app.get(`/${ID}/preview`, async (c) => {
    const { locale, format } = PreviewQuery.parse(c.req.query());
    const { db, config } = c.var.deps;
    const email = await previewEdition(
      db,
      await getEdition(db, c.req.param('id')),
      config.publicBaseUrl,
      locale,
    );
    if (format === 'text') {
      return c.body(email.text, 200, {
        ...SANDBOXED_HTML_HEADERS,
        'content-type': 'text/plain; charset=utf-8',
      });
    }
    return sandboxedHtml(c, email.html);
  });

  for (const route of ACTION_ROUTES) {
    app.post(`/${ID}/${route.path}`, editor, async (c) => {
      const id = c.req.param('id');
      const { db, clock } = c.var.deps;
      const typed = (await readForm(c)).note;
      const values = { note: typeof typed === 'string' ? typed : '' };
      const parsed = validateForm(NoteSchema, values);
      if (!parsed.ok) return editionPage(c, id, { status: 422, errors: parsed.errors, values });
      const options = parsed.data.note ? { note: parsed.data.note } : {};
      return attempt(
        c,
        id,
        () =>
          db
            .transaction()
            .execute((tx) => transitionEdition(tx, clock, c.var.principal, id, route.action, options)),
        route.ok,
        { action: route.action, values },
      );
    });
  }

  app.post(`/${ID}/schedule`, editor, async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const typed = typeof form.sendAt === 'string' ? form.sendAt : '';
    const values = { sendAt: typed };
    const parsed = validateForm(z.object({ sendAt: amsterdamDateTimeField }), { sendAt: typed });
    if (!parsed.ok) return editionPage(c, id, { status: 422, errors: parsed.errors, values });
    if (!parsed.data.sendAt) {
      return editionPage(c, id, { status: 422, errors: { sendAt: 'Kies een datum en tijd.' }, values });
    }
    const first = parsed.data.sendAt;
    // The autumn hour happens twice: the same clock time an hour later is the second occurrence.
    const second = new Date(first.getTime() + HOUR_MS);
    const ambiguous = instantToAmsterdamLocal(second) === instantToAmsterdamLocal(first);
    const occurrence = form.occurrence;
    if (ambiguous && occurrence !== 'first' && occurrence !== 'second') {
      return editionPage(c, id, {
        status: 422,
        errors: {
          sendAt:
            'Dit tijdstip komt die nacht twee keer voor: om 03:00 zomertijd gaat de klok terug naar 02:00 wintertijd. Kies hieronder welke keer u bedoelt.',
        },
        values,
        ambiguous: { first, second },
      });
    }
    const sendAt = ambiguous && occurrence === 'second' ? second : first;
    const { db, clock } = c.var.deps;
    return attempt(
      c,
      id,
      () =>
        db
          .transaction()
          .execute((tx) => transitionEdition(tx, clock, c.var.principal, id, 'schedule', { sendAt })),
      'scheduled',
      { action: 'schedule', values },
    );
  });

  app.post(`/${ID}/test-send`, editor, async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const values = {
      to: typeof form.to === 'string' ? form.to : '',
      locale: typeof form.locale === 'string' ? form.locale : '',
    };
    const addresses = values.to.split(/[\s,;]+/).filter(Boolean);
    const parsed = validateForm(TestSendSchema, { to: addresses, locale: values.locale || undefined });
    if (!parsed.ok) {
      // Every problem with the list belongs to the one field it was typed in.
      const errors: FieldErrors = {};
      for (const [field, message] of Object.entries(parsed.errors)) {
        const index = /^to\.(\d+)$/.exec(field)?.[1];
        errors[field.startsWith('to') ? 'to' : field] ??= index
          ? `${addresses[Number(index)]}: ${message}`
          : message;
      }
      return editionPage(c, id, { status: 422, errors, values });
    }
    const { db, clock, config } = c.var.deps;
    return attempt(
      c,
      id,
      async () => {
        try {
          await sendTestEdition(db, clock, c.var.principal!, id, parsed.data, config.publicBaseUrl);
        } catch (error) {
          if (!(error instanceof Invalid)) throw error;
          const field = error.fields[0];
          const index = Number(/^to\.(\d+)$/.exec(field?.field ?? '')?.[1]);
          throw new Invalid(error.message, [
            { field: 'to', message: `${addresses[index] ?? ''}: ${field?.message ?? 'ongeldig adres'}` },
          ]);
        }
      },
      'test-sent',
      { action: 'test-send', values },
    );
  });

  app.post(`/${ID}/resend-failed`, editor, async (c) => {
    const id = c.req.param('id');
    const { db, clock } = c.var.deps;
    return attempt(
      c,
      id,
      () => db.transaction().execute((tx) => resendFailed(tx, c.var.principal!, id, clock.now())),
      'resent',
    );
  });

  app.post(`/${ID}/delete`, editor, async (c) => {
    const id = c.req.param('id');
    const { db } = c.var.deps;
    try {
      await db.transaction().execute((tx) => deleteEdition(tx, id));
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      return editionPage(c, id, {
        status: 409,
        message: 'Alleen concepten en geannuleerde edities die nooit zijn verzonden, kunnen weg.',
      });
    }
    return c.redirect('/admin/editions?ok=deleted', 303);
  });

  app.get(`/${ID}/stats`, async (c) => {
    const id = c.req.param('id');
    const { db } = c.var.deps;
    const query = LogQuery.parse(c.req.query());
    const [edition, stats, log] = await Promise.all([
      getEdition(db, id),
      editionStats(db, id),
      deliveryLog(db, id, { ...query, limit: 50 }),
    ]);
    return c.html(
      <AdminPage c={c} title={`Statistieken: ${edition.title}`}>
        <p>
          Status: <StatusBadge status={edition.status} /> ·{' '}
          <a href={`/admin/editions/${id}`}>Terug naar de editie</a>
        </p>
        <StatsSummary stats={stats} id={id} />
        <DeliveryLogSection id={id} query={query} log={log} />
      </AdminPage>,
    );
  });

  return app;
}

const percentOf = (rate: number | null) =>
  rate === null ? '—' : `${(rate * 100).toLocaleString('nl-NL', { maximumFractionDigits: 2 })} %`;

function StatsSummary(props: { stats: EditionStats; id: string }) {
  const { stats } = props;
  const rows: [string, number | null][] = [
    ['Ontvangers', stats.recipients],
    ['Door de provider aangenomen', stats.sent],
    ['Afgeleverd', stats.delivered],
    ['Harde bounces', stats.bounced],
    ['Zachte bounces', stats.softBounced],
    ['Klachten (spam)', stats.complained],
    ['Mislukt', stats.failed],
    ['Geblokkeerde adressen', stats.suppressed],
    ['Geannuleerd', stats.cancelled],
    ['Nog in de wachtrij', stats.queued],
    ['Aangenomen, nog geen uitslag', stats.awaitingOutcome],
    ['Sindsdien afgemeld', stats.unsubscribedSince],
    ['Geopend', stats.opened],
  ];
  return (
    <section aria-labelledby="cijfers">
      <h2 id="cijfers">Cijfers</h2>
      <SendProgress
        id={props.id}
        processed={stats.progress.processed}
        total={stats.progress.total}
        sent={stats.sent}
      />
      <TableRegion label="Cijfers van de verzending">
        <table>
          <tbody>
            {rows.map(([label, value]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                <td>{value === null ? 'niet gemeten' : numberFormat.format(value)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">Bouncepercentage (hard)</th>
              <td>{percentOf(stats.rates.bounce)}</td>
            </tr>
            <tr>
              <th scope="row">Klachtpercentage</th>
              <td>{percentOf(stats.rates.complaint)}</td>
            </tr>
          </tbody>
        </table>
      </TableRegion>
      <h3>Kliks per link ({numberFormat.format(stats.clicks.total)} in totaal)</h3>
      {stats.clicks.links.length === 0 ? (
        <p>Nog geen kliks.</p>
      ) : (
        <TableRegion label="Kliks per link">
          <table>
            <thead>
              <tr>
                <th scope="col">Link</th>
                <th scope="col">Kliks</th>
              </tr>
            </thead>
            <tbody>
              {stats.clicks.links.map((link) => (
                <tr key={link.url}>
                  <td>{link.url}</td>
                  <td>{numberFormat.format(link.clicks)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

function DeliveryLogSection(props: {
  id: string;
  query: z.infer<typeof LogQuery>;
  log: Awaited<ReturnType<typeof deliveryLog>>;
}) {
  const { id, query, log } = props;
  const path = `/admin/editions/${id}/stats`;
  const filters = new URLSearchParams(
    Object.entries({ q: query.q, status: query.status }).filter((entry): entry is [string, string] =>
      Boolean(entry[1]),
    ),
  );
  return (
    <section aria-labelledby="verzendlog">
      <h2 id="verzendlog">Verzendlog: heeft deze persoon haar gekregen?</h2>
      <form method="get" action={`${path}#verzendlog`} aria-label="Verzendlog doorzoeken">
        <Field name="q" label="E-mailadres (of een deel ervan)" type="search" value={query.q ?? ''} />
        <SelectField
          name="status"
          label="Status"
          value={query.status ?? ''}
          options={[
            { value: '', label: 'Alle' },
            ...Object.entries(DELIVERY_LABELS).map(([value, label]) => ({ value, label })),
          ]}
        />
        <button type="submit">Zoeken</button>
      </form>
      {log.items.length === 0 ? (
        <p>Geen verzendingen gevonden.</p>
      ) : (
        <TableRegion label="Verzendlog">
          <table>
            <thead>
              <tr>
                <th scope="col">E-mailadres</th>
                <th scope="col">Status</th>
                <th scope="col">Verzonden</th>
                <th scope="col">Afgeleverd</th>
                <th scope="col">Foutmelding</th>
              </tr>
            </thead>
            <tbody>
              {log.items.map((d) => (
                <tr key={d.id}>
                  <td>{d.email ?? '(gewist)'}</td>
                  <td>{DELIVERY_LABELS[d.status]}</td>
                  <td>{formatDateTime(d.sentAt)}</td>
                  <td>{formatDateTime(d.deliveredAt)}</td>
                  <td>{d.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <nav aria-label="Pagina's van het verzendlog" class="actions">
        {query.after ? <a href={`${path}?${filters}#verzendlog`}>Eerste pagina</a> : null}
        {log.nextAfter ? (
          <a href={`${path}?${new URLSearchParams([...filters, ['after', log.nextAfter]])}#verzendlog`}>
            Volgende pagina
          </a>
        ) : null}
      </nav>
    </section>
  );
}
