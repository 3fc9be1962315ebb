/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { audited } from '../../api/audited.js';
import type { AppEnv } from '../../api/deps.js';
import { multipartBoundary } from '../../api/multipart.js';
import {
  addFileDocument,
  addLinkDocument,
  CategoryInput,
  changeDocument,
  DocumentPatch,
  type DocumentUpload,
  documentUploadLimit,
  formBoolean,
  LinkDocumentInput,
  readDocumentUpload,
} from '../../api/routes/documents.js';
import {
  type CategoryRow,
  createCategory,
  DOCUMENT_FORMATS,
  DOCUMENT_MAX_BYTES,
  type DocumentRow,
  deleteCategory,
  deleteDocument,
  documentDateToday,
  getCategory,
  getDocument,
  listCategories,
  listDocuments,
  updateCategory,
} from '../../domain/documents.js';
import { Invalid } from '../../domain/errors.js';
import { safeUrl } from '../../domain/urls.js';
import { adminArea } from './area.js';
import {
  Checkbox,
  ConfirmPage,
  crudPages,
  DataTable,
  type FormState,
  type FormValues,
  formFailure,
  formPosition,
  handleForm,
  mayChange,
  single,
  tooLargeFailure,
} from './crud.js';
import {
  ActionButton,
  AdminPage,
  adminAccess,
  adminErrorPage,
  ErrorSummary,
  Field,
  formatDateTime,
  Notice,
  numberFormat,
  PostForm,
  readForm,
  SelectField,
  validateForm,
} from './ui.js';

/**
 * /admin/documents: the "Relevante documenten" of the public site, by category. Files are checked
 * by their content and stored exactly as through the API (the same functions do it); a document
 * can be announced on LinkedIn once it is published.
 */

const BASE = '/admin/documents';

const MESSAGES = {
  created: 'Het document is toegevoegd.',
  updated: 'Het document is opgeslagen.',
  published: 'Het document staat nu op de site.',
  unpublished: 'Het document staat niet meer op de site.',
  deleted: 'Het document is verwijderd.',
};

const dateFormat = new Intl.DateTimeFormat('nl-NL', { dateStyle: 'long', timeZone: 'UTC' });
const formatDocumentDate = (date: string) => dateFormat.format(new Date(`${date}T00:00:00Z`));

/** An empty optional field means "not given" (the default date, the file name as title). */
function withoutBlanks<T extends FormValues>(values: T, names: string[]): T {
  const copy = { ...values };
  for (const name of names) if (single(copy, name).trim() === '') delete copy[name];
  return copy;
}

const LinkForm = LinkDocumentInput.omit({ kind: true }).extend({
  published: formBoolean,
  announceOnLinkedIn: formBoolean,
});
const EditForm = DocumentPatch.extend({ published: formBoolean, announceOnLinkedIn: formBoolean });
const PublishForm = z.object({ published: z.enum(['true', 'false']) });

function kindLabel(doc: DocumentRow): string {
  return doc.kind === 'link' ? 'Link' : `${DOCUMENT_FORMATS[doc.file_format!].label}-bestand`;
}

function StatusBadges(props: { doc: DocumentRow }) {
  return (
    <>
      <span class="badge">{props.doc.published_at ? 'Gepubliceerd' : 'Concept'}</span>
      {props.doc.announced_at ? <span class="badge">Aangekondigd op LinkedIn</span> : null}
    </>
  );
}

/**
 * Where an editor can see the document itself: the stored file (also as a draft) or the link; none
 * (an <a> without href) for a stored link that is no web address (checked again at render time).
 */
const viewHref = (doc: DocumentRow) =>
  doc.kind === 'link' ? (safeUrl(doc.url, 'web') ?? undefined) : `/api/v1/documents/${doc.id}/file`;

function documentFields(
  state: FormState,
  categories: CategoryRow[],
  options: { kind: 'file' | 'link'; doc?: DocumentRow; today: string },
) {
  const value = (name: string) => single(state.values, name);
  const { doc } = options;
  return (
    <>
      {options.kind === 'file' && !doc ? (
        <Field
          name="file"
          label="Bestand"
          type="file"
          required
          accept=".pdf,.docx,.xlsx,.pptx,.odt,.ods"
          hint={`PDF, Word, Excel, PowerPoint of OpenDocument, hoogstens ${DOCUMENT_MAX_BYTES / 1024 / 1024} MB. De inhoud bepaalt het soort bestand, niet de naam.`}
          errors={state.errors}
        />
      ) : null}
      {options.kind === 'link' ? (
        <Field
          name="url"
          label="Webadres"
          type="url"
          required
          hint="Het volledige adres, beginnend met https://"
          value={value('url')}
          errors={state.errors}
        />
      ) : null}
      <Field
        name="title"
        label="Titel"
        required={options.kind === 'link' || doc !== undefined}
        hint={options.kind === 'file' && !doc ? 'Leeg: de naam van het bestand.' : undefined}
        value={value('title')}
        errors={state.errors}
      />
      <Field
        name="summary"
        label="Samenvatting"
        multiline
        rows={3}
        value={value('summary')}
        errors={state.errors}
      />
      <Field
        name="date"
        label="Datum"
        type="date"
        hint="De datum van het document, bijvoorbeeld van verschijnen."
        value={value('date') || options.today}
        errors={state.errors}
      />
      <SelectField
        name="category"
        label="Categorie"
        required
        value={value('category')}
        errors={state.errors}
        options={categories.map((category) => ({ value: category.id, label: category.name_nl }))}
      />
      <SelectField
        name="published"
        label="Op de site"
        value={value('published') || 'true'}
        errors={state.errors}
        options={[
          { value: 'true', label: 'Gepubliceerd: direct zichtbaar op de site' },
          { value: 'false', label: 'Concept: nog niet zichtbaar' },
        ]}
      />
      {doc?.announced_at ? (
        <p>Dit document is op {formatDateTime(doc.announced_at)} op LinkedIn aangekondigd.</p>
      ) : (
        <Checkbox
          name="announceOnLinkedIn"
          legend="LinkedIn"
          label="Aankondigen op LinkedIn (alleen als het document gepubliceerd is)"
          state={state}
        />
      )}
    </>
  );
}

function documentFormPage(
  c: Context<AppEnv>,
  state: FormState,
  categories: CategoryRow[],
  kind: 'file' | 'link',
  doc?: DocumentRow,
) {
  const title = doc ? 'Document bewerken' : kind === 'file' ? 'Bestand toevoegen' : 'Link toevoegen';
  const action = doc ? `${BASE}/${doc.id}` : kind === 'file' ? `${BASE}/files` : `${BASE}/links`;
  const today = documentDateToday(c.var.deps.clock.now());
  return (
    <AdminPage c={c} title={title}>
      <ErrorSummary errors={state.errors} message={state.message} />
      {doc ? (
        <p>
          {kindLabel(doc)}: <a href={viewHref(doc)}>{doc.kind === 'link' ? doc.url : 'bekijken'}</a>
        </p>
      ) : null}
      <PostForm c={c} action={action} enctype={kind === 'file' && !doc ? 'multipart/form-data' : undefined}>
        {documentFields(state, categories, { kind, doc, today })}
        <div class="actions">
          <button type="submit">Opslaan</button>
          <a href={BASE}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

function documentValues(doc: DocumentRow): FormValues {
  return {
    title: doc.title,
    summary: doc.summary,
    date: doc.document_date,
    category: doc.category_id,
    published: doc.published_at ? 'true' : 'false',
    ...(doc.url ? { url: doc.url } : {}),
  };
}

function DocumentList(props: { c: Context<AppEnv>; categories: CategoryRow[]; docs: DocumentRow[] }) {
  const editable = mayChange(props.c);
  return (
    <>
      {props.categories.map((category) => {
        const docs = props.docs.filter((doc) => doc.category_id === category.id);
        return (
          <section key={category.id} aria-labelledby={`categorie-${category.id}`}>
            <h2 id={`categorie-${category.id}`}>{category.name_nl}</h2>
            <DataTable
              caption={`Documenten in ${category.name_nl} (${docs.length})`}
              rows={docs}
              rowKey={(doc) => doc.id}
              empty="Nog geen documenten in deze categorie."
              columns={[
                {
                  label: 'Titel',
                  cell: (doc) => (editable ? <a href={`${BASE}/${doc.id}/edit`}>{doc.title}</a> : doc.title),
                },
                {
                  label: 'Soort',
                  cell: (doc) => (
                    <a href={viewHref(doc)} aria-label={`${kindLabel(doc)} bekijken: ${doc.title}`}>
                      {kindLabel(doc)}
                    </a>
                  ),
                },
                { label: 'Datum', cell: (doc) => formatDocumentDate(doc.document_date) },
                { label: 'Status', cell: (doc) => <StatusBadges doc={doc} /> },
                ...(editable
                  ? [
                      {
                        label: 'Acties',
                        cell: (doc: DocumentRow) => (
                          <span class="actions">
                            <ActionButton
                              c={props.c}
                              action={`${BASE}/${doc.id}/publish`}
                              label={doc.published_at ? 'Depubliceren' : 'Publiceren'}
                              variant="secondary"
                              hidden={{ published: doc.published_at ? 'false' : 'true' }}
                            />
                            <a href={`${BASE}/${doc.id}/delete`} aria-label={`Verwijderen: ${doc.title}`}>
                              Verwijderen
                            </a>
                          </span>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
          </section>
        );
      })}
    </>
  );
}

function categoryPages() {
  const CategoryForm = CategoryInput.extend({ position: formPosition });
  return crudPages({
    noun: { one: 'categorie', many: 'Documentcategorieën', article: 'de' },
    basePath: `${BASE}/categories`,
    auditKind: 'document-category',
    list: (c) => listCategories(c.var.deps.db),
    get: (c, id) => getCategory(c.var.deps.db, id),
    labelOf: (category) => category.name_nl,
    intro: (
      <p>
        De categorieën van de pagina Relevante documenten, in deze volgorde. Een categorie met documenten kan
        niet weg: verplaats of verwijder eerst de documenten. <a href={BASE}>Terug naar de documenten</a>
      </p>
    ),
    columns: [
      { label: 'Naam', cell: (category) => category.name_nl },
      { label: 'Engelse naam', cell: (category) => category.name_en },
      { label: 'Korte naam', cell: (category) => <code>{category.slug}</code> },
      { label: 'Volgorde', cell: (category) => String(category.position) },
      { label: 'Documenten', cell: (category) => numberFormat.format(Number(category.documents)) },
    ],
    createSchema: CategoryForm,
    updateSchema: CategoryForm,
    valuesOf: (category) => ({
      nameNl: category.name_nl,
      nameEn: category.name_en,
      slug: category.slug,
      position: String(category.position),
    }),
    fields: (state) => (
      <>
        <Field
          name="nameNl"
          label="Naam (Nederlands)"
          required
          value={single(state.values, 'nameNl')}
          errors={state.errors}
        />
        <Field
          name="nameEn"
          label="Naam (Engels)"
          required
          value={single(state.values, 'nameEn')}
          errors={state.errors}
        />
        <Field
          name="slug"
          label="Korte naam"
          required
          hint="Kleine letters, cijfers en streepjes, bijvoorbeeld folders."
          value={single(state.values, 'slug')}
          errors={state.errors}
        />
        <Field
          name="position"
          label="Volgorde"
          type="number"
          min="0"
          hint="Leeg: achteraan."
          value={single(state.values, 'position')}
          errors={state.errors}
        />
      </>
    ),
    create: (tx, input) => createCategory(tx, input),
    update: (tx, id, changes) => updateCategory(tx, id, changes),
    remove: (tx, id) => deleteCategory(tx, id),
  });
}

export function documentPages() {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorPage);

  // The file upload streams: its own body limit (first, so that it counts whoever reads the body),
  // and the CSRF field checked on the way (upload-paths.ts).
  app.post('/files', documentUploadLimit, adminAccess('editor', { csrf: 'in-stream' }), async (c) => {
    const categories = await listCategories(c.var.deps.db);
    const render = (state: FormState, status: 409 | 413 | 415 | 422) =>
      c.html(documentFormPage(c, state, categories, 'file'), status);
    const boundary = multipartBoundary(c.req.header('content-type'));
    if (!boundary) return render({ values: {}, errors: {}, message: 'Verstuur het formulier opnieuw.' }, 415);
    let upload: DocumentUpload | null = null;
    try {
      upload = await readDocumentUpload(c, boundary, { csrfInForm: true });
      await addFileDocument(c, { ...upload, fields: withoutBlanks(upload.fields, ['title', 'date']) });
    } catch (error) {
      const failure = tooLargeFailure(error, DOCUMENT_MAX_BYTES) ?? formFailure(error);
      if (!failure) throw error;
      // Browsers never fill a file field in again: say so, beside what went wrong.
      const message = 'Kies het bestand opnieuw.';
      return render({ values: upload?.fields ?? {}, ...failure.state, message }, failure.status);
    }
    return c.redirect(`${BASE}?ok=created`, 303);
  });

  const pages = adminArea('viewer');
  const editor = adminAccess('editor');

  pages.get('/', async (c) => {
    const { db } = c.var.deps;
    const [categories, docs] = await Promise.all([listCategories(db), listDocuments(db)]);
    return c.html(
      <AdminPage c={c} title="Documenten">
        <Notice c={c} messages={MESSAGES} />
        <p class="actions">
          {mayChange(c) ? (
            <>
              <a href={`${BASE}/new-file`}>Bestand toevoegen</a>
              <a href={`${BASE}/new-link`}>Link toevoegen</a>
            </>
          ) : null}
          <a href={`${BASE}/categories`}>Categorieën</a>
          <a href="/documenten">Bekijk de pagina op de site</a>
        </p>
        <DocumentList c={c} categories={categories} docs={docs} />
      </AdminPage>,
    );
  });

  pages.get('/new-file', editor, async (c) =>
    c.html(documentFormPage(c, { values: {}, errors: {} }, await listCategories(c.var.deps.db), 'file')),
  );
  pages.get('/new-link', editor, async (c) =>
    c.html(documentFormPage(c, { values: {}, errors: {} }, await listCategories(c.var.deps.db), 'link')),
  );
  pages.post('/links', editor, async (c) => {
    const categories = await listCategories(c.var.deps.db);
    return handleForm(c, {
      values: withoutBlanks(await readForm(c), ['date']),
      schema: LinkForm,
      render: (state) => documentFormPage(c, state, categories, 'link'),
      change: (input) => addLinkDocument(c, input),
      done: () => `${BASE}?ok=created`,
    });
  });

  pages.get('/:id{[0-9]{1,18}}/edit', editor, async (c) => {
    const { db } = c.var.deps;
    const doc = await getDocument(db, c.req.param('id'));
    const state = { values: documentValues(doc), errors: {} };
    return c.html(documentFormPage(c, state, await listCategories(db), doc.kind, doc));
  });
  pages.post('/:id{[0-9]{1,18}}', editor, async (c) => {
    const { db } = c.var.deps;
    const doc = await getDocument(db, c.req.param('id'));
    const categories = await listCategories(db);
    return handleForm(c, {
      values: withoutBlanks(await readForm(c), ['date']),
      schema: EditForm,
      render: (state) => documentFormPage(c, state, categories, doc.kind, doc),
      change: (changes) => changeDocument(c, doc.id, changes),
      done: () => `${BASE}?ok=updated`,
    });
  });

  pages.post('/:id{[0-9]{1,18}}/publish', editor, async (c) => {
    const id = c.req.param('id');
    const checked = validateForm(PublishForm, await readForm(c));
    if (!checked.ok) throw new Invalid('Kies publiceren of depubliceren.');
    const published = checked.data.published === 'true';
    await changeDocument(c, id, { published });
    return c.redirect(`${BASE}?ok=${published ? 'published' : 'unpublished'}`, 303);
  });

  const deletePage = (c: Context<AppEnv>, doc: DocumentRow) => (
    <ConfirmPage
      c={c}
      title="Document verwijderen"
      question={
        <p>
          Weet je zeker dat je het document <strong>{doc.title}</strong> wilt verwijderen? Het verdwijnt van
          de site{doc.kind === 'file' ? ', samen met het bestand' : ''}. Dit kan niet ongedaan worden gemaakt.
        </p>
      }
      action={`${BASE}/${doc.id}/delete`}
      confirmLabel="Ja, verwijderen"
      cancelHref={BASE}
    />
  );
  pages.get('/:id{[0-9]{1,18}}/delete', editor, async (c) =>
    c.html(deletePage(c, await getDocument(c.var.deps.db, c.req.param('id')))),
  );
  pages.post('/:id{[0-9]{1,18}}/delete', editor, async (c) => {
    const id = c.req.param('id');
    await audited(c, (tx) => deleteDocument(tx, id), { action: 'document.delete', target: `document:${id}` });
    return c.redirect(`${BASE}?ok=deleted`, 303);
  });

  pages.route('/categories', categoryPages());
  app.route('/', pages);
  return app;
}
