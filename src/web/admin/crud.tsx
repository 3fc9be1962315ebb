/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { HtmlEscapedString } from 'hono/utils/html';
import { z } from 'zod';
import { audited } from '../../api/audited.js';
import type { AppEnv } from '../../api/deps.js';
import type { Tx } from '../../db/connection.js';
import type { Role } from '../../db/schema.js';
import { Conflict, DomainError, Invalid } from '../../domain/errors.js';
import { roleAtLeast } from '../../domain/users.js';
import { adminArea } from './area.js';
import {
  AdminPage,
  adminAccess,
  CheckboxGroup,
  domainFieldErrors,
  ErrorSummary,
  type FieldErrors,
  Notice,
  numberFormat,
  PostForm,
  readForm,
  validateForm,
} from './ui.js';

/**
 * Pieces the admin areas share beyond ui.tsx: a table of records, a "weet je het zeker?" page,
 * the POST → check → change → redirect cycle of every form, and `crudPages`, which builds the
 * list, add, edit and delete pages of a simple resource (organisations, topics, categories).
 */

export type FormValues = Record<string, string | string[]>;

/** What a JSX page renders to. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** What a form shows again after a failed post: the values as typed, and what was wrong. */
export interface FormState {
  values: FormValues;
  errors: FieldErrors;
  message?: string;
}

export const emptyForm: FormState = { values: {}, errors: {} };

/** A checkbox of a form: present (whatever its value) means ticked. */
export const checkbox = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((value) => value !== undefined);

/** The place of an item in a list (topics, categories): a whole number, empty for "unchanged/last". */
export const formPosition = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
  z.coerce
    .number({ error: 'Vul een heel getal in.' })
    .int('Vul een heel getal in.')
    .min(0)
    .max(10_000)
    .optional(),
);

/** One value of a form field (the first, should a field be repeated). */
export function single(values: FormValues, name: string): string {
  const value = values[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export function mayChange(c: Context<AppEnv>, role: Role = 'editor'): boolean {
  const principal = c.var.principal;
  return principal !== null && roleAtLeast(principal.role, role);
}

/**
 * How a failed change shows on its form: field errors of a broken rule (422), of a conflict such
 * as a name already taken (409), or a message for the whole form. Anything else (a page that is
 * gone, a role too low) is not the form's business and goes to the error page.
 */
export function formFailure(
  error: unknown,
): { status: 409 | 413 | 415 | 422; state: Omit<FormState, 'values'> } | null {
  if (error instanceof Invalid) return { status: 422, state: { errors: domainFieldErrors(error) ?? {} } };
  if (error instanceof Conflict) {
    const errors: FieldErrors = {};
    for (const field of error.fields) errors[field.field] ??= field.message;
    return { status: 409, state: error.fields.length > 0 ? { errors } : { errors, message: error.message } };
  }
  if (error instanceof DomainError && (error.status === 413 || error.status === 415)) {
    return { status: error.status, state: { errors: {}, message: error.message } };
  }
  return null;
}

/** A file over the size limit, as an error on the form's file field (413). */
export function tooLargeFailure(error: unknown, maxBytes: number) {
  if (!(error instanceof DomainError) || error.status !== 413) return null;
  const megabytes = numberFormat.format(maxBytes / 1024 / 1024);
  return { status: 413 as const, state: { errors: { file: `Het bestand is groter dan ${megabytes} MB.` } } };
}

/**
 * A form post: validate with `schema` (422 and the form again, values kept, on bad input), run the
 * change (a broken domain rule shows on the form as well), then 303 to `done` (Post/Redirect/Get).
 */
export async function handleForm<S extends z.ZodType, T>(
  c: Context<AppEnv>,
  options: {
    schema: S;
    render: (state: FormState) => Html;
    change: (input: z.infer<S>) => Promise<T>;
    done: (result: T) => string;
    values?: FormValues;
  },
): Promise<Response> {
  const values = options.values ?? (await readForm(c));
  const checked = validateForm(options.schema, values);
  if (!checked.ok) return c.html(options.render({ values, errors: checked.errors }), 422);
  try {
    const result = await options.change(checked.data);
    return c.redirect(options.done(result), 303);
  } catch (error) {
    const failure = formFailure(error);
    if (!failure) throw error;
    return c.html(options.render({ values, ...failure.state }), failure.status);
  }
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
}

/** Records as a table with a caption and column headers; a sentence instead when there are none. */
export function DataTable<T>(props: {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  empty: string;
}) {
  if (props.rows.length === 0) return <p>{props.empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="hint">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" key={column.label}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)}>
              {props.columns.map((column) => (
                <td key={column.label}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "Weet je het zeker?": the one step between a destructive button and its effect. */
export function ConfirmPage(props: {
  c: Context<AppEnv>;
  title: string;
  question: Child;
  action: string;
  confirmLabel: string;
  cancelHref: string;
  state?: Omit<FormState, 'values'>;
  /** Extra fields, e.g. the address typed again before an erasure. */
  children?: Child;
}) {
  return (
    <AdminPage c={props.c} title={props.title}>
      <ErrorSummary errors={props.state?.errors ?? {}} message={props.state?.message} />
      <div class="warning">{props.question}</div>
      <PostForm c={props.c} action={props.action}>
        {props.children}
        <div class="actions">
          <button type="submit" class="danger">
            {props.confirmLabel}
          </button>
          <a href={props.cancelHref}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );
}

/**
 * One checkbox in a fieldset whose legend says what it is about (e.g. "LinkedIn"); ticked when
 * the form has a value for it, unless `checked` says otherwise (a default on an empty form).
 */
export function Checkbox(props: {
  name: string;
  legend: string;
  label: string;
  state: FormState;
  checked?: boolean;
}) {
  const ticked = props.checked ?? props.state.values[props.name] !== undefined;
  return (
    <CheckboxGroup
      name={props.name}
      legend={props.legend}
      options={[{ value: 'true', label: props.label }]}
      checked={ticked ? ['true'] : []}
      errors={props.state.errors}
    />
  );
}

/** Ja/Nee as text: state is never shown by colour alone. */
export const yesNo = (value: boolean) => (value ? 'Ja' : 'Nee');

/**
 * A simple resource the admin lists, adds, edits and deletes through its domain functions. `Row`
 * is what the list shows (e.g. with counts), `Item` what the edit page loads.
 */
export interface CrudResource<Row extends { id: string }, Item extends { id: string }, Input, Changes> {
  /** Dutch names: e.g. { one: 'organisatie', many: 'Organisaties', article: 'de' }. */
  noun: { one: string; many: string; article: 'de' | 'het' };
  /** Where the pages live, e.g. `/admin/organisations`. */
  basePath: string;
  /** The audit action prefix and target kind, as the API writes them (e.g. `organisation`). */
  auditKind: string;
  list: (c: Context<AppEnv>) => Promise<Row[]>;
  get: (c: Context<AppEnv>, id: string) => Promise<Item>;
  labelOf: (record: Row | Item) => string;
  columns: Column<Row>[];
  /** Shown above the list, e.g. what deleting means. */
  intro?: Child;
  createSchema: z.ZodType<Input>;
  updateSchema: z.ZodType<Changes>;
  valuesOf: (item: Item) => FormValues;
  /** Renders the fields of the add and edit forms; `item` is set when editing. */
  fields: (state: FormState, item?: Item) => Html;
  create: (tx: Tx, input: Input) => Promise<{ id: string }>;
  update: (tx: Tx, id: string, changes: Changes) => Promise<unknown>;
  remove: (tx: Tx, id: string) => Promise<void>;
  /** What deleting does besides removing the record, for the confirmation page. */
  deleteNote?: string;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * The list, add, edit and delete pages of a resource: everyone in the admin may look, editors
 * change; each change and its audit entry are one transaction, exactly as in the API.
 */
export function crudPages<Row extends { id: string }, Item extends { id: string }, Input, Changes>(
  resource: CrudResource<Row, Item, Input, Changes>,
) {
  const app = adminArea('viewer');
  const { noun, basePath } = resource;
  const the = `${noun.article} ${noun.one}`;
  const messages = {
    created: `${capitalised(the)} is toegevoegd.`,
    updated: `${capitalised(the)} is opgeslagen.`,
    deleted: `${capitalised(the)} is verwijderd.`,
  };
  const target = (id: string) => `${resource.auditKind}:${id}`;
  const action = (verb: 'create' | 'update' | 'delete') => `${resource.auditKind}.${verb}`;

  app.get('/', async (c) => {
    const rows = await resource.list(c);
    const editable = mayChange(c);
    const columns: Column<Row>[] = editable
      ? [
          ...resource.columns,
          {
            label: 'Acties',
            cell: (row) => (
              <span class="actions">
                <a href={`${basePath}/${row.id}/edit`} aria-label={`Bewerken: ${resource.labelOf(row)}`}>
                  Bewerken
                </a>
                <a href={`${basePath}/${row.id}/delete`} aria-label={`Verwijderen: ${resource.labelOf(row)}`}>
                  Verwijderen
                </a>
              </span>
            ),
          },
        ]
      : resource.columns;
    return c.html(
      <AdminPage c={c} title={noun.many}>
        <Notice c={c} messages={messages} />
        {resource.intro}
        {editable ? (
          <p>
            <a href={`${basePath}/new`}>{capitalised(noun.one)} toevoegen</a>
          </p>
        ) : null}
        <DataTable
          caption={`${noun.many} (${rows.length})`}
          columns={columns}
          rows={rows}
          rowKey={(row) => row.id}
          empty={`Er zijn nog geen ${noun.many.toLowerCase()}.`}
        />
      </AdminPage>,
    );
  });

  const formPage = (c: Context<AppEnv>, state: FormState, item?: Item) => (
    <AdminPage
      c={c}
      title={item ? `${capitalised(noun.one)} bewerken` : `${capitalised(noun.one)} toevoegen`}
    >
      <ErrorSummary errors={state.errors} message={state.message} />
      <PostForm c={c} action={item ? `${basePath}/${item.id}` : basePath}>
        {resource.fields(state, item)}
        <div class="actions">
          <button type="submit">Opslaan</button>
          <a href={basePath}>Annuleren</a>
        </div>
      </PostForm>
    </AdminPage>
  );

  const editor = adminAccess('editor');
  app.get('/new', editor, (c) => c.html(formPage(c, emptyForm)));
  app.post('/', editor, (c) =>
    handleForm(c, {
      schema: resource.createSchema,
      render: (state) => formPage(c, state),
      change: (input) =>
        audited(c, (tx) => resource.create(tx, input), {
          action: action('create'),
          target: (created) => target(created.id),
        }),
      done: () => `${basePath}?ok=created`,
    }),
  );

  app.get('/:id{[0-9]{1,18}}/edit', editor, async (c) => {
    const item = await resource.get(c, c.req.param('id'));
    return c.html(formPage(c, { values: resource.valuesOf(item), errors: {} }, item));
  });
  app.post('/:id{[0-9]{1,18}}', editor, async (c) => {
    const id = c.req.param('id');
    const item = await resource.get(c, id);
    return handleForm(c, {
      schema: resource.updateSchema,
      render: (state) => formPage(c, state, item),
      change: (changes) =>
        audited(c, (tx) => resource.update(tx, id, changes), {
          action: action('update'),
          target: target(id),
        }),
      done: () => `${basePath}?ok=updated`,
    });
  });

  const deletePage = (c: Context<AppEnv>, item: Item, state?: Omit<FormState, 'values'>) => (
    <ConfirmPage
      c={c}
      title={`${capitalised(noun.one)} verwijderen`}
      question={
        <>
          <p>
            Weet je zeker dat je {the} <strong>{resource.labelOf(item)}</strong> wilt verwijderen? Dit kan
            niet ongedaan worden gemaakt.
          </p>
          {resource.deleteNote ? <p>{resource.deleteNote}</p> : null}
        </>
      }
      action={`${basePath}/${item.id}/delete`}
      confirmLabel="Ja, verwijderen"
      cancelHref={basePath}
      state={state}
    />
  );
  app.get('/:id{[0-9]{1,18}}/delete', editor, async (c) => {
    const item = await resource.get(c, c.req.param('id'));
    return c.html(deletePage(c, item));
  });
  app.post('/:id{[0-9]{1,18}}/delete', editor, async (c) => {
    const id = c.req.param('id');
    const item = await resource.get(c, id);
    try {
      await audited(c, (tx) => resource.remove(tx, id), { action: action('delete'), target: target(id) });
    } catch (error) {
      const failure = formFailure(error);
      if (!failure) throw error;
      // E.g. a topic people subscribed to: say why, on the page that asked.
      return c.html(deletePage(c, item, failure.state), failure.status);
    }
    return c.redirect(`${basePath}?ok=deleted`, 303);
  });

  return app;
}
