/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../../api/deps.js';
import {
  CsvOptionsSchema,
  ExportQuerySchema,
  importReportDownload,
  importUploadLimit,
  receiveImportUpload,
  subscriberExportDownload,
} from '../../api/routes/imports.js';
import type { Import, Topic } from '../../db/schema.js';
import { Invalid } from '../../domain/errors.js';
import { getImport, IMPORT_MAX_BYTES, LAWFUL_BASES, listImports } from '../../domain/imports.js';
import { listTopics } from '../../domain/topics.js';
import { adminArea } from './area.js';
import { IMPORT_PROGRESS_SCRIPT } from './assets/import-progress.js';
import { Checkbox, DataTable, type FormState, formFailure, single, tooLargeFailure, yesNo } from './crud.js';
import { IMPORT_STATUS_LABELS, LAWFUL_BASIS_LABELS, STATUS_LABELS } from './subscriber-labels.js';
import {
  AdminPage,
  adminAccess,
  adminErrorPage,
  CheckboxGroup,
  ErrorSummary,
  Field,
  formatDateTime,
  numberFormat,
  PostForm,
  SelectField,
  validateForm,
} from './ui.js';

/**
 * /admin/subscribers/imports and /admin/subscribers/export: CSV in and out, through exactly the
 * code the API uses (routes/imports.ts): the upload streams into Postgres with its own size
 * limit, a background job does the import, and this page follows its progress.
 */

const BASE = '/admin/subscribers/imports';

function progressText(row: Import): string {
  const percent =
    row.status === 'done' ? 100 : row.total > 0 ? Math.floor((100 * row.processed) / row.total) : 0;
  return `${numberFormat.format(row.processed)} van ${numberFormat.format(row.total)} regels verwerkt (${percent}%)`;
}

/** The lawful basis for mailing someone, recorded in the consent ledger: a choice the editor must make. */
export function LawfulBasisField(props: { state: FormState; hint: string }) {
  return (
    <SelectField
      name="lawfulBasis"
      label="Rechtsgrond"
      required
      hint={props.hint}
      value={single(props.state.values, 'lawfulBasis')}
      errors={props.state.errors}
      options={[
        { value: '', label: 'Kies een rechtsgrond' },
        ...LAWFUL_BASES.map((basis) => ({ value: basis, label: LAWFUL_BASIS_LABELS[basis] })),
      ]}
    />
  );
}

function importFormPage(c: Context<AppEnv>, state: FormState, topics: Topic[]) {
  const chosenTopics = single(state.values, 'defaultTopics').split(',').filter(Boolean);
  return (
    <AdminPage c={c} title="Abonnees importeren">
      <ErrorSummary errors={state.errors} message={state.message} />
      <p>
        Een CSV-bestand (UTF-8, ook zoals Excel het opslaat; gescheiden door puntkomma's of komma's) met in de
        eerste regel de kolomnamen: <code>e-mail</code> (verplicht), <code>naam</code>, <code>taal</code> (nl
        of en), <code>onderwerpen</code> (korte namen, gescheiden door |) en <code>organisatie</code>. Nieuwe
        adressen worden actieve abonnees; wie zich afmeldde, onbestelbaar was of gewist is, wordt nooit
        opnieuw ingeschreven.
      </p>
      <PostForm c={c} action={BASE} enctype="multipart/form-data">
        <Field
          name="file"
          label="CSV-bestand"
          type="file"
          accept=".csv,text/csv"
          required
          hint={`Hoogstens ${numberFormat.format(IMPORT_MAX_BYTES / 1024 / 1024)} MB.`}
          errors={state.errors}
        />
        <LawfulBasisField
          state={state}
          hint="Waarom je deze mensen mag mailen; dit wordt bij iedere nieuwe abonnee vastgelegd."
        />
        <CheckboxGroup
          name="defaultTopics"
          legend="Onderwerpen voor regels zonder onderwerpen"
          options={topics.map((topic) => ({ value: topic.slug, label: topic.name_nl }))}
          checked={chosenTopics}
          errors={state.errors}
        />
        <SelectField
          name="defaultLocale"
          label="Taal voor regels zonder taal"
          value={single(state.values, 'defaultLocale')}
          errors={state.errors}
          options={[
            { value: '', label: 'Nederlands' },
            { value: 'en', label: 'Engels' },
          ]}
        />
        <Checkbox
          name="dryRun"
          legend="Proefimport"
          label="Alleen controleren en tellen; niets opslaan"
          state={state}
        />
        <div class="actions">
          <button type="submit">Importeren</button>
          <a href={BASE}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

function ImportStatus(props: { row: Import }) {
  const { row } = props;
  const running = row.status === 'queued' || row.status === 'running';
  const self = `${BASE}/${row.id}`;
  return (
    <section aria-labelledby="voortgang-kop">
      <h2 id="voortgang-kop">Voortgang</h2>
      <p>
        Status: <span class="badge">{IMPORT_STATUS_LABELS[row.status]}</span>
      </p>
      <div data-import-status={running ? `${self}/status` : undefined}>
        <label for="voortgang">Verwerkte regels</label>
        <progress
          id="voortgang"
          max={Math.max(row.total, 1)}
          value={row.status === 'done' ? row.total : row.processed}
        >
          {progressText(row)}
        </progress>
        <p data-progress-text>{progressText(row)}</p>
      </div>
      {running ? (
        <p>
          De import loopt op de achtergrond; je kunt deze pagina verlaten. <a href={self}>Vernieuwen</a>
        </p>
      ) : null}
      {row.last_error ? (
        <p class="warning">
          {row.status === 'failed' ? 'De import is mislukt: ' : 'Een poging mislukte en wordt herhaald: '}
          {row.last_error}
        </p>
      ) : null}
    </section>
  );
}

function ImportResult(props: { row: Import }) {
  const { row } = props;
  const counts: [string, number][] = [
    ['Nieuwe abonnees', row.created],
    ['Bestaande abonnees aangevuld', row.updated],
    ['Ongewijzigd', row.unchanged],
    ['Overgeslagen (dubbel, afgemeld, onbestelbaar of gewist)', row.skipped],
    ['Regels met fouten', row.errors],
    ['Nieuwe organisaties', row.organisations_created],
  ];
  const report = `${BASE}/${row.id}/errors.csv`;
  return (
    <section aria-labelledby="resultaat-kop">
      <h2 id="resultaat-kop">Resultaat</h2>
      {row.dry_run ? <p class="notice">Dit was een proefimport: er is niets opgeslagen.</p> : null}
      <DataTable
        caption="Aantallen"
        rows={counts}
        rowKey={([label]) => label}
        empty=""
        columns={[
          { label: 'Wat', cell: ([label]) => label },
          { label: 'Aantal', cell: ([, count]) => numberFormat.format(count) },
        ]}
      />
      {row.errors + row.skipped > 0 ? (
        <p class="actions">
          Regelrapport (regel, waarde, reden):
          <a href={`${report}?separator=semicolon&bom=true`}>downloaden voor Excel</a>
          <a href={report}>downloaden als CSV met komma's</a>
        </p>
      ) : null}
    </section>
  );
}

function importPage(c: Context<AppEnv>, row: Import) {
  const running = row.status === 'queued' || row.status === 'running';
  return (
    <AdminPage c={c} title={`Import ${row.id}${row.filename ? `: ${row.filename}` : ''}`}>
      <dl>
        <dt>Geüpload</dt>
        <dd>{formatDateTime(row.created_at)}</dd>
        <dt>Grootte</dt>
        <dd>{numberFormat.format(Math.ceil(Number(row.size_bytes) / 1024))} kB</dd>
        <dt>Rechtsgrond</dt>
        <dd>{LAWFUL_BASIS_LABELS[row.lawful_basis]}</dd>
        <dt>Proefimport</dt>
        <dd>{yesNo(row.dry_run)}</dd>
        {row.ignored_columns.length > 0 ? (
          <>
            <dt>Genegeerde kolommen</dt>
            <dd>{row.ignored_columns.join(', ')}</dd>
          </>
        ) : null}
      </dl>
      <ImportStatus row={row} />
      {row.status === 'done' ? <ImportResult row={row} /> : null}
      <p>
        <a href={BASE}>Alle imports</a> · <a href="/admin/subscribers">Abonnees</a>
      </p>
      {running ? <script src={`${BASE}/assets/import-progress.js`} defer /> : null}
    </AdminPage>
  );
}

/** The import pages, mounted at /admin/subscribers/imports; all for editors, as in the API. */
export function importPages() {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorPage);

  // The upload streams: its own body limit (first, so that it counts whoever reads the body), and the
  // CSRF field checked on the way (upload-paths.ts).
  app.post('/', importUploadLimit, adminAccess('editor', { csrf: 'in-stream' }), async (c) => {
    const fields: Record<string, string> = {};
    try {
      const row = await receiveImportUpload(c, { csrfInForm: true, fields });
      return c.redirect(`${BASE}/${row.id}`, 303);
    } catch (error) {
      const failure = tooLargeFailure(error, IMPORT_MAX_BYTES) ?? formFailure(error);
      if (!failure) throw error;
      const topics = await listTopics(c.var.deps.db);
      // Browsers never fill a file field in again: say so, beside what went wrong.
      const state = { values: fields, ...failure.state, message: 'Kies het bestand opnieuw.' };
      return c.html(importFormPage(c, state, topics), failure.status);
    }
  });

  const pages = adminArea('editor');
  pages.get('/', async (c) => {
    const rows = await listImports(c.var.deps.db);
    return c.html(
      <AdminPage c={c} title="Imports">
        <p class="actions">
          <a href={`${BASE}/new`}>Nieuwe import</a>
          <a href="/admin/subscribers">Abonnees</a>
        </p>
        <DataTable
          caption="De laatste imports (rapporten blijven 30 dagen bewaard)"
          rows={rows}
          rowKey={(row) => row.id}
          empty="Er zijn nog geen imports."
          columns={[
            {
              label: 'Geüpload',
              cell: (row) => <a href={`${BASE}/${row.id}`}>{formatDateTime(row.created_at)}</a>,
            },
            { label: 'Bestand', cell: (row) => row.filename ?? '—' },
            { label: 'Status', cell: (row) => <span class="badge">{IMPORT_STATUS_LABELS[row.status]}</span> },
            { label: 'Proef', cell: (row) => yesNo(row.dry_run) },
            { label: 'Regels', cell: (row) => numberFormat.format(row.total) },
            { label: 'Nieuw', cell: (row) => numberFormat.format(row.created) },
            { label: 'Fouten', cell: (row) => numberFormat.format(row.errors) },
          ]}
        />
      </AdminPage>,
    );
  });
  pages.get('/new', async (c) =>
    c.html(importFormPage(c, { values: {}, errors: {} }, await listTopics(c.var.deps.db))),
  );
  pages.get('/assets/import-progress.js', (c) =>
    c.body(IMPORT_PROGRESS_SCRIPT, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'private, max-age=3600',
    }),
  );
  pages.get('/:id{[0-9]{1,18}}', async (c) =>
    c.html(importPage(c, await getImport(c.var.deps.db, c.req.param('id')))),
  );
  pages.get('/:id{[0-9]{1,18}}/status', async (c) => {
    const row = await getImport(c.var.deps.db, c.req.param('id'));
    c.header('cache-control', 'no-store');
    return c.json({
      status: row.status,
      processed: row.processed,
      total: row.total,
      progressText: progressText(row),
    });
  });
  pages.get('/:id{[0-9]{1,18}}/errors.csv', async (c) => {
    const checked = validateForm(CsvOptionsSchema, c.req.query());
    if (!checked.ok) throw new Invalid('Onbekende keuze voor het rapport.');
    return importReportDownload(c, c.req.param('id'), checked.data);
  });
  app.route('/', pages);
  return app;
}

/**
 * /admin/subscribers/export: a form whose choices go to the streamed CSV download, made by the
 * same function as GET /api/v1/subscribers/export.csv.
 */
export function exportPages() {
  const app = adminArea('editor');
  app.get('/', async (c) => {
    const topics = await listTopics(c.var.deps.db, { includeArchived: true });
    return c.html(
      <AdminPage c={c} title="Abonnees exporteren">
        <p>
          Een CSV-bestand met de kolommen van de import (email, name, locale, topics, organisation): het laat
          zich zo weer importeren. Iedere export wordt vastgelegd in het logboek.
        </p>
        <form method="get" action="/admin/subscribers/export/download">
          <SelectField
            name="status"
            label="Status"
            value="active"
            options={Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label }))}
          />
          <SelectField
            name="topic"
            label="Onderwerp"
            value=""
            options={[
              { value: '', label: 'Alle onderwerpen' },
              ...topics.map((topic) => ({ value: topic.slug, label: topic.name_nl })),
            ]}
          />
          <SelectField
            name="separator"
            label="Scheidingsteken"
            value="semicolon"
            options={[
              { value: 'semicolon', label: 'Puntkomma (Excel in het Nederlands)' },
              { value: 'comma', label: 'Komma' },
            ]}
          />
          <input type="hidden" name="bom" value="true" />
          <button type="submit">Downloaden</button>
        </form>
      </AdminPage>,
    );
  });
  app.get('/download', async (c) => {
    const query = Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== ''));
    const checked = validateForm(ExportQuerySchema, query);
    if (!checked.ok) throw new Invalid('Onbekende keuze voor de export.');
    return subscriberExportDownload(c, checked.data);
  });
  return app;
}
