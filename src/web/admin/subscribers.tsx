/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import {
  addSubscriber,
  CreateSubscriberSchema,
  changeSubscriber,
  forgetSubscriber,
  idString,
  ListQuery,
  LocaleSchema,
  subscriberDataDownload,
} from '../../api/routes/subscribers.js';
import type { Organisation, Topic } from '../../db/schema.js';
import { consentHistory } from '../../domain/consent.js';
import { LAWFUL_BASES } from '../../domain/imports.js';
import { listOrganisations } from '../../domain/organisations.js';
import {
  getSubscriber,
  listSubscribers,
  type SubscriberSummary,
  subscriberDeliveries,
} from '../../domain/subscriber-admin.js';
import { listTopics } from '../../domain/topics.js';
import { adminArea } from './area.js';
import {
  Checkbox,
  ConfirmPage,
  checkbox,
  DataTable,
  type FormState,
  type FormValues,
  handleForm,
  mayChange,
  single,
} from './crud.js';
import { DELIVERY_LABELS } from './editions.js';
import { exportPages, importPages, LawfulBasisField } from './imports.js';
import {
  CONSENT_KIND_LABELS,
  LAWFUL_BASIS_LABELS,
  LOCALE_LABELS,
  SOURCE_LABELS,
  STATUS_LABELS,
} from './subscriber-labels.js';
import {
  AdminPage,
  adminAccess,
  adminErrorPage,
  asList,
  CheckboxGroup,
  ErrorSummary,
  Field,
  formatDateTime,
  Notice,
  PostForm,
  readForm,
  SelectField,
  validateForm,
} from './ui.js';

/**
 * /admin/subscribers: search, add, change, the consent history and deliveries of one person,
 * GDPR export and erasure; imports and exports live beside this file (imports.tsx). Every change
 * goes through the functions the API uses, with the same consent evidence and audit entries.
 */

const BASE = '/admin/subscribers';

const MESSAGES = {
  created: 'De abonnee is toegevoegd.',
  updated: 'De wijzigingen zijn opgeslagen.',
  erased:
    'De abonnee is gewist. Alleen een onomkeerbare vingerafdruk van het adres staat nog op de blokkeerlijst, zodat het niet per ongeluk terugkomt.',
};

/** A form field that may be left empty: empty (or left out) becomes null ("none"). */
const blankToNull = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (value === undefined || (typeof value === 'string' && value.trim() === '') ? null : value),
    schema.nullable(),
  );

/** A checkbox group: one ticked box arrives as a string, none as nothing. */
const list = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => asList(value as string | string[]), schema);

const SubscriberFields = {
  name: blankToNull(z.string().trim().max(200)),
  locale: LocaleSchema,
  organisationId: blankToNull(idString),
};

const CreateForm = CreateSubscriberSchema.extend({
  ...SubscriberFields,
  topics: list(CreateSubscriberSchema.shape.topics),
  lawfulBasis: z.enum(LAWFUL_BASES, { error: 'Kies de rechtsgrond om deze persoon te mailen.' }),
  requireConfirmation: checkbox,
});

const EditForm = z.object({
  ...SubscriberFields,
  topics: list(z.array(z.string().max(60)).max(50)),
  unsubscribe: checkbox,
});

const EraseForm = z.object({ email: z.string().trim().min(1, 'Typ het e-mailadres ter bevestiging.') });

/** Topics can be changed while someone may receive mail; who left chooses again through the form. */
const topicsEditable = (subscriber: SubscriberSummary) =>
  subscriber.status === 'active' || subscriber.status === 'pending';

interface Choices {
  topics: Topic[];
  organisations: Pick<Organisation, 'id' | 'name'>[];
}

async function loadChoices(c: Context<AppEnv>, options: { archivedTopics?: boolean } = {}): Promise<Choices> {
  const { db } = c.var.deps;
  const [topics, organisations] = await Promise.all([
    listTopics(db, { includeArchived: options.archivedTopics }),
    listOrganisations(db),
  ]);
  return { topics, organisations };
}

const organisationOptions = (choices: Choices, none: string) => [
  { value: '', label: none },
  ...choices.organisations.map((organisation) => ({ value: organisation.id, label: organisation.name })),
];

function StatusBadge(props: { subscriber: SubscriberSummary }) {
  return <span class="badge">{STATUS_LABELS[props.subscriber.status]}</span>;
}

function topicNames(slugs: string[], topics: Topic[]): string {
  const names = slugs.map((slug) => topics.find((topic) => topic.slug === slug)?.name_nl ?? slug);
  return names.length > 0 ? names.join(', ') : '—';
}

/* ------------------------------------------------------------------------------------- search */

function searchPage(c: Context<AppEnv>, choices: Choices, query: FormValues, result: SearchResult) {
  const value = (name: string) => single(query, name);
  const filters = new URLSearchParams(
    Object.entries(query).filter(([name, v]) => name !== 'after' && typeof v === 'string' && v !== '') as [
      string,
      string,
    ][],
  );
  const pageLink = (after?: string) => {
    const params = new URLSearchParams(filters);
    if (after) params.set('after', after);
    const text = params.toString();
    return text ? `${BASE}?${text}` : BASE;
  };
  const editable = mayChange(c);
  return (
    <AdminPage c={c} title="Abonnees">
      <Notice c={c} messages={MESSAGES} />
      {editable ? (
        <p class="actions">
          <a href={`${BASE}/new`}>Abonnee of partner toevoegen</a>
          <a href={`${BASE}/imports/new`}>Importeren</a>
          <a href={`${BASE}/imports`}>Eerdere imports</a>
          <a href={`${BASE}/export`}>Exporteren</a>
        </p>
      ) : null}
      <ErrorSummary errors={result.ok ? {} : result.errors} />
      <search aria-label="Abonnees zoeken">
        <form method="get" action={BASE}>
          <Field
            name="q"
            label="Zoeken"
            type="search"
            hint="Een deel van het e-mailadres of de naam."
            value={value('q')}
            errors={result.ok ? {} : result.errors}
          />
          <SelectField
            name="status"
            label="Status"
            value={value('status')}
            errors={result.ok ? {} : result.errors}
            options={[
              { value: '', label: 'Alle' },
              ...Object.entries(STATUS_LABELS).map(([status, label]) => ({ value: status, label })),
            ]}
          />
          <SelectField
            name="topic"
            label="Onderwerp"
            value={value('topic')}
            errors={result.ok ? {} : result.errors}
            options={[
              { value: '', label: 'Alle' },
              ...choices.topics.map((topic) => ({ value: topic.slug, label: topic.name_nl })),
            ]}
          />
          <SelectField
            name="organisationId"
            label="Organisatie"
            value={value('organisationId')}
            errors={result.ok ? {} : result.errors}
            options={organisationOptions(choices, 'Alle')}
          />
          <button type="submit">Zoeken</button>
        </form>
      </search>
      {result.ok ? (
        <>
          <DataTable
            caption={value('after') ? 'Zoekresultaten (volgende pagina)' : 'Zoekresultaten, nieuwste eerst'}
            rows={result.items}
            rowKey={(subscriber) => subscriber.id}
            empty="Geen abonnees gevonden."
            columns={[
              { label: 'E-mailadres', cell: (s) => <a href={`${BASE}/${s.id}`}>{s.email}</a> },
              { label: 'Naam', cell: (s) => s.name ?? '—' },
              { label: 'Status', cell: (s) => <StatusBadge subscriber={s} /> },
              { label: 'Onderwerpen', cell: (s) => topicNames(s.topics, choices.topics) },
              { label: 'Organisatie', cell: (s) => s.organisationName ?? '—' },
              { label: 'Toegevoegd', cell: (s) => formatDateTime(s.createdAt) },
            ]}
          />
          <nav aria-label="Pagina's" class="actions">
            {value('after') ? <a href={pageLink()}>Eerste pagina</a> : null}
            {result.next ? <a href={pageLink(result.next)}>Volgende pagina</a> : null}
          </nav>
        </>
      ) : null}
    </AdminPage>
  );
}

type SearchResult =
  | { ok: true; items: SubscriberSummary[]; next: string | null }
  | { ok: false; errors: Record<string, string> };

/* ----------------------------------------------------------------------------- add and change */

function subscriberFields(
  state: FormState,
  choices: Choices,
  options: { creating: boolean; topics: boolean },
) {
  const value = (name: string) => single(state.values, name);
  return (
    <>
      {options.creating ? (
        <Field
          name="email"
          label="E-mailadres"
          type="email"
          required
          autocomplete="off"
          value={value('email')}
          errors={state.errors}
        />
      ) : null}
      <Field name="name" label="Naam" autocomplete="off" value={value('name')} errors={state.errors} />
      <SelectField
        name="locale"
        label="Taal van de e-mails"
        value={value('locale') || 'nl'}
        errors={state.errors}
        options={[
          { value: 'nl', label: LOCALE_LABELS.nl },
          { value: 'en', label: LOCALE_LABELS.en },
        ]}
      />
      <SelectField
        name="organisationId"
        label="Organisatie"
        hint="Voor partners: de organisatie waar deze persoon werkt."
        value={value('organisationId')}
        errors={state.errors}
        options={organisationOptions(choices, 'Geen organisatie')}
      />
      {options.topics ? (
        <CheckboxGroup
          name="topics"
          legend="Onderwerpen"
          options={choices.topics.map((topic) => ({ value: topic.slug, label: topic.name_nl }))}
          checked={asList(state.values.topics)}
          errors={state.errors}
        />
      ) : null}
    </>
  );
}

function createPage(c: Context<AppEnv>, state: FormState, choices: Choices) {
  return (
    <AdminPage c={c} title="Abonnee of partner toevoegen">
      <ErrorSummary errors={state.errors} message={state.message} />
      <PostForm c={c} action={BASE}>
        {subscriberFields(state, choices, { creating: true, topics: true })}
        <LawfulBasisField
          state={state}
          hint="Waarom je deze persoon mag mailen; dit wordt vastgelegd in de toestemmingsgeschiedenis."
        />
        <Checkbox
          name="requireConfirmation"
          legend="Bevestiging"
          label="Eerst per e-mail laten bevestigen (dubbele opt-in)"
          state={state}
        />
        <div class="actions">
          <button type="submit">Toevoegen</button>
          <a href={BASE}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

function editPage(c: Context<AppEnv>, state: FormState, choices: Choices, subscriber: SubscriberSummary) {
  return (
    <AdminPage c={c} title="Abonnee bewerken">
      <ErrorSummary errors={state.errors} message={state.message} />
      <p>
        {subscriber.email} · <StatusBadge subscriber={subscriber} />
      </p>
      <PostForm c={c} action={`${BASE}/${subscriber.id}`}>
        {subscriberFields(state, choices, { creating: false, topics: topicsEditable(subscriber) })}
        {subscriber.status === 'unsubscribed' ? null : (
          <Checkbox
            name="unsubscribe"
            legend="Afmelden"
            label="Afmelden voor alle onderwerpen"
            state={state}
          />
        )}
        <div class="actions">
          <button type="submit">Opslaan</button>
          <a href={`${BASE}/${subscriber.id}`}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

function subscriberValues(subscriber: SubscriberSummary): FormValues {
  return {
    name: subscriber.name ?? '',
    locale: subscriber.locale,
    organisationId: subscriber.organisationId ?? '',
    topics: subscriber.topics,
  };
}

/* -------------------------------------------------------------------------------------- detail */

async function detailPage(c: Context<AppEnv>, subscriber: SubscriberSummary) {
  const { db } = c.var.deps;
  const [consent, deliveries, topics] = await Promise.all([
    consentHistory(db, subscriber.id),
    subscriberDeliveries(db, subscriber.id),
    listTopics(db, { includeArchived: true }),
  ]);
  const editable = mayChange(c);
  return (
    <AdminPage c={c} title={subscriber.name ? `${subscriber.name} (${subscriber.email})` : subscriber.email}>
      <Notice c={c} messages={MESSAGES} />
      {editable ? (
        <p class="actions">
          <a href={`${BASE}/${subscriber.id}/edit`}>Bewerken</a>
          <a href={`${BASE}/${subscriber.id}/export`}>Alle gegevens downloaden (JSON)</a>
          <a href={`${BASE}/${subscriber.id}/erase`}>Wissen</a>
        </p>
      ) : null}
      <dl>
        <dt>Status</dt>
        <dd>
          <StatusBadge subscriber={subscriber} />
        </dd>
        <dt>Onderwerpen</dt>
        <dd>{topicNames(subscriber.topics, topics)}</dd>
        <dt>Taal</dt>
        <dd>{LOCALE_LABELS[subscriber.locale]}</dd>
        <dt>Organisatie</dt>
        <dd>{subscriber.organisationName ?? '—'}</dd>
        <dt>Herkomst</dt>
        <dd>{SOURCE_LABELS[subscriber.source]}</dd>
        <dt>Toegevoegd</dt>
        <dd>{formatDateTime(subscriber.createdAt)}</dd>
        <dt>Bevestigd</dt>
        <dd>{formatDateTime(subscriber.confirmedAt)}</dd>
        <dt>Afgemeld</dt>
        <dd>{formatDateTime(subscriber.unsubscribedAt)}</dd>
      </dl>
      <h2>Toestemmingsgeschiedenis</h2>
      <DataTable
        caption="Alle toestemmingen en wijzigingen, oudste eerst; deze regels worden nooit aangepast."
        rows={consent}
        rowKey={(event) => event.id}
        empty="Nog geen gebeurtenissen."
        columns={[
          { label: 'Moment', cell: (event) => formatDateTime(event.at) },
          { label: 'Gebeurtenis', cell: (event) => CONSENT_KIND_LABELS[event.kind] },
          {
            label: 'Rechtsgrond',
            cell: (event) => (event.lawful_basis ? LAWFUL_BASIS_LABELS[event.lawful_basis] : '—'),
          },
          { label: 'Versie toestemmingstekst', cell: (event) => event.consent_version ?? '—' },
          { label: 'Bron', cell: (event) => <code>{event.source}</code> },
          {
            label: 'Details',
            cell: (event) =>
              Object.keys(event.details).length > 0 ? <code>{JSON.stringify(event.details)}</code> : '—',
          },
        ]}
      />
      <h2>Verzonden edities</h2>
      <DataTable
        caption="De laatste 100 edities aan deze persoon, nieuwste eerst."
        rows={deliveries}
        rowKey={(delivery) => delivery.id}
        empty="Nog geen edities verzonden."
        columns={[
          {
            label: 'Editie',
            cell: (delivery) => (
              <a href={`/admin/editions/${delivery.edition_id}`}>{delivery.edition_title}</a>
            ),
          },
          {
            label: 'Status',
            cell: (delivery) => <span class="badge">{DELIVERY_LABELS[delivery.status]}</span>,
          },
          { label: 'Verzonden', cell: (delivery) => formatDateTime(delivery.sent_at) },
          { label: 'Afgeleverd', cell: (delivery) => formatDateTime(delivery.delivered_at) },
          { label: 'Fout', cell: (delivery) => delivery.error ?? '—' },
        ]}
      />
    </AdminPage>
  );
}

/* --------------------------------------------------------------------------------------- erase */

function erasePage(c: Context<AppEnv>, subscriber: SubscriberSummary, state?: FormState) {
  return (
    <ConfirmPage
      c={c}
      title="Abonnee wissen"
      question={
        <>
          <p>
            Weet je het zeker? Alle gegevens van <strong>{subscriber.email}</strong> worden gewist: het adres,
            de naam, de onderwerpen, de toestemmingsgeschiedenis, opgeslagen e-mails, regels in
            importverslagen en berichten van de e-mailprovider over dit adres. Alleen een onomkeerbare
            vingerafdruk (hash) van het adres blijft op de blokkeerlijst, zodat het niet per ongeluk opnieuw
            wordt geïmporteerd. Dit kan niet ongedaan worden gemaakt.
          </p>
          <p>
            Wil je eerst een kopie?{' '}
            <a href={`${BASE}/${subscriber.id}/export`}>Download alle gegevens (JSON)</a>.
          </p>
        </>
      }
      action={`${BASE}/${subscriber.id}/erase`}
      confirmLabel="Definitief wissen"
      cancelHref={`${BASE}/${subscriber.id}`}
      state={state}
    >
      <Field
        name="email"
        label="Typ het e-mailadres ter bevestiging"
        autocomplete="off"
        required
        value={state ? single(state.values, 'email') : ''}
        errors={state?.errors}
      />
    </ConfirmPage>
  );
}

/* -------------------------------------------------------------------------------------- routes */

export function subscriberPages() {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorPage);
  // Before the subscriber pages: the import upload streams and checks its CSRF field itself.
  app.route('/imports', importPages());
  app.route('/export', exportPages());

  const pages = adminArea('viewer');
  const editor = adminAccess('editor');

  pages.get('/', async (c) => {
    const query = c.req.query();
    const filled = Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''));
    const checked = validateForm(ListQuery, filled);
    const [choices, result] = await Promise.all([
      loadChoices(c, { archivedTopics: true }),
      checked.ok
        ? listSubscribers(c.var.deps.db, checked.data).then((page) => ({ ok: true as const, ...page }))
        : Promise.resolve({ ok: false as const, errors: checked.errors }),
    ]);
    return c.html(searchPage(c, choices, query, result), result.ok ? 200 : 422);
  });

  pages.get('/new', editor, async (c) =>
    c.html(createPage(c, { values: {}, errors: {} }, await loadChoices(c))),
  );
  pages.post('/', editor, async (c) => {
    const choices = await loadChoices(c);
    return handleForm(c, {
      schema: CreateForm,
      render: (state) => createPage(c, state, choices),
      change: (input) => addSubscriber(c, input),
      done: (subscriber) => `${BASE}/${subscriber.id}?ok=created`,
    });
  });

  pages.get('/:id{[0-9]{1,18}}', async (c) => {
    const subscriber = await getSubscriber(c.var.deps.db, c.req.param('id'));
    return c.html(await detailPage(c, subscriber));
  });

  pages.get('/:id{[0-9]{1,18}}/edit', editor, async (c) => {
    const subscriber = await getSubscriber(c.var.deps.db, c.req.param('id'));
    const state = { values: subscriberValues(subscriber), errors: {} };
    return c.html(editPage(c, state, await loadChoices(c), subscriber));
  });
  pages.post('/:id{[0-9]{1,18}}', editor, async (c) => {
    const subscriber = await getSubscriber(c.var.deps.db, c.req.param('id'));
    const choices = await loadChoices(c);
    return handleForm(c, {
      schema: EditForm,
      render: (state) => editPage(c, state, choices, subscriber),
      change: ({ topics, unsubscribe, ...fields }) =>
        changeSubscriber(c, subscriber.id, {
          ...fields,
          // Who is unsubscribed with every box unticked has no topics to keep.
          ...(topicsEditable(subscriber) && !(unsubscribe && topics.length === 0) ? { topics } : {}),
          ...(unsubscribe ? { unsubscribe: true as const } : {}),
        }),
      done: () => `${BASE}/${subscriber.id}?ok=updated`,
    });
  });

  pages.get('/:id{[0-9]{1,18}}/export', editor, (c) => subscriberDataDownload(c, c.req.param('id')));

  pages.get('/:id{[0-9]{1,18}}/erase', editor, async (c) =>
    c.html(erasePage(c, await getSubscriber(c.var.deps.db, c.req.param('id')))),
  );
  pages.post('/:id{[0-9]{1,18}}/erase', editor, async (c) => {
    const subscriber = await getSubscriber(c.var.deps.db, c.req.param('id'));
    const values = await readForm(c);
    const checked = validateForm(EraseForm, values);
    const typed = checked.ok ? checked.data.email.toLowerCase() : '';
    if (typed !== subscriber.email.toLowerCase()) {
      const errors = checked.ok ? { email: 'Dit is niet het e-mailadres van deze abonnee.' } : checked.errors;
      return c.html(erasePage(c, subscriber, { values, errors }), 422);
    }
    await forgetSubscriber(c, subscriber.id);
    return c.redirect(`${BASE}?ok=erased`, 303);
  });

  app.route('/', pages);
  return app;
}
