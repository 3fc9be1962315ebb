/** @jsxImportSource hono/jsx */
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Child } from 'hono/jsx';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import { parseFormBody } from '../../api/forms.js';
import { assertCsrf } from '../../api/middleware/auth.js';
import { multipartBoundary } from '../../api/multipart.js';
import { isUnstorableText } from '../../db/connection.js';
import type { Role } from '../../db/schema.js';
import { DomainError, Invalid } from '../../domain/errors.js';
import { roleAtLeast } from '../../domain/users.js';
import { Layout } from '../layout.js';

/**
 * The building blocks every admin page shares: the layout with its role-aware navigation, the
 * access guard, CSRF-carrying forms, labelled fields with linked error messages, and the Dutch
 * error page. Each area of the admin lives in its own file beside this one.
 */

export interface AdminSection {
  path: string;
  label: string;
  role: Role;
}

/** The admin's sections, in menu order; a section is shown only to roles that may open it. */
export const ADMIN_SECTIONS: AdminSection[] = [
  { path: '/admin', label: 'Overzicht', role: 'viewer' },
  { path: '/admin/editions', label: 'Edities', role: 'viewer' },
  { path: '/admin/subscribers', label: 'Abonnees', role: 'viewer' },
  { path: '/admin/organisations', label: 'Organisaties', role: 'viewer' },
  { path: '/admin/topics', label: 'Onderwerpen', role: 'viewer' },
  { path: '/admin/documents', label: 'Documenten', role: 'viewer' },
  { path: '/admin/posts', label: 'LinkedIn-berichten', role: 'viewer' },
  { path: '/admin/linkedin', label: 'LinkedIn-koppeling', role: 'admin' },
  { path: '/admin/users', label: 'Gebruikers', role: 'admin' },
  { path: '/admin/tokens', label: 'API-tokens', role: 'admin' },
  { path: '/dev/mailbox', label: 'Mailbox', role: 'admin' },
  { path: '/admin/queues', label: 'Wachtrijen', role: 'admin' },
  { path: '/docs', label: 'API-documentatie', role: 'viewer' },
];

const adminStyles = `
header { flex-wrap: wrap; }
nav.admin ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
nav.admin a { display: inline-block; padding: .25rem 0; }
nav.admin a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; text-underline-offset: .3em; }
nav.admin button { margin: 0; padding: .2rem .6rem; }
main { max-width: 75rem; }
select, textarea, input[type=number], input[type=url], input[type=search], input[type=datetime-local], input[type=date], input[type=file] {
  width: 100%; max-width: 36rem; padding: .5rem; font: inherit; border: 1px solid var(--muted); border-radius: 4px; background: var(--bg); color: var(--fg); }
textarea { min-height: 6rem; }
fieldset { border: 1px solid var(--border); border-radius: 4px; margin: 1rem 0 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
fieldset label.check { font-weight: normal; display: flex; gap: .5rem; align-items: flex-start; margin-top: .5rem; }
input[type=checkbox], input[type=radio] { width: 1.25rem; height: 1.25rem; margin: .15rem 0 0; flex: none; accent-color: var(--accent); }
.hint { color: var(--muted); margin: .25rem 0 0; }
.field-error { color: var(--error); font-weight: 600; margin: .25rem 0 0; }
[aria-invalid=true] { border: 2px solid var(--error) !important; }
.summary { border: 3px solid var(--error); padding: .5rem 1rem; margin: 1rem 0; }
.summary h2 { font-size: 1.1rem; margin: .25rem 0; }
.notice { border-left: 6px solid var(--accent); padding: .5rem 1rem; margin: 1rem 0; }
.warning { border-left: 6px solid var(--error); padding: .5rem 1rem; margin: 1rem 0; }
button.secondary { background: transparent; color: var(--accent); border: 2px solid var(--accent); }
button.danger { background: var(--error); color: var(--bg); }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; }
.badge { display: inline-block; padding: 0 .4rem; border: 1px solid var(--border); border-radius: 3px; font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; }
.cards section { border: 1px solid var(--border); border-radius: 4px; padding: .5rem 1rem; }
.cards h2 { font-size: 1.1rem; }
.table-wrap { overflow-x: auto; }
progress { width: 100%; max-width: 36rem; height: 1.25rem; }
`;

export function AdminNav(props: { role: Role | null; currentPath: string; csrf: string }) {
  const sections = ADMIN_SECTIONS.filter((s) => props.role && roleAtLeast(props.role, s.role));
  // The most specific section containing the current path is the current one.
  const current = sections
    .filter((s) => props.currentPath === s.path || props.currentPath.startsWith(`${s.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0];
  return (
    <nav class="admin" aria-label="Beheer">
      <ul>
        {sections.map((section) => (
          <li key={section.path}>
            <a href={section.path} aria-current={section === current ? 'page' : undefined}>
              {section.label}
            </a>
          </li>
        ))}
        {props.role ? (
          <li>
            <form method="post" action="/admin/logout" class="inline">
              <CsrfField csrf={props.csrf} />
              <button type="submit" class="secondary">
                Uitloggen
              </button>
            </form>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}

/** Every admin page: the shared layout plus the navigation for the signed-in user's role. */
export function AdminPage(props: { c: Context<AppEnv>; title: string; children: Child }) {
  const principal = props.c.var.principal;
  return (
    <Layout
      title={props.title}
      styles={adminStyles}
      nav={
        <AdminNav
          role={principal?.role ?? null}
          currentPath={props.c.req.path}
          csrf={principal?.csrfToken ?? ''}
        />
      }
    >
      {props.children}
    </Layout>
  );
}

export function CsrfField(props: { csrf: string }) {
  return <input type="hidden" name="_csrf" value={props.csrf} />;
}

/** A POST form that carries the session's CSRF token. */
export function PostForm(props: {
  c: Context<AppEnv>;
  action: string;
  class?: string;
  enctype?: 'multipart/form-data';
  id?: string;
  children: Child;
}) {
  return (
    <form
      method="post"
      action={props.action}
      class={props.class}
      enctype={props.enctype}
      id={props.id}
      novalidate
    >
      <CsrfField csrf={props.c.var.principal?.csrfToken ?? ''} />
      {props.children}
    </form>
  );
}

/** A one-button form, e.g. "Goedkeuren" or "Annuleren". */
export function ActionButton(props: {
  c: Context<AppEnv>;
  action: string;
  label: string;
  variant?: 'secondary' | 'danger';
  hidden?: Record<string, string>;
}) {
  return (
    <PostForm c={props.c} action={props.action} class="inline">
      {Object.entries(props.hidden ?? {}).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.variant}>
        {props.label}
      </button>
    </PostForm>
  );
}

/**
 * A table that may scroll sideways on a narrow screen: a labelled region that takes keyboard
 * focus, so it can be scrolled without a mouse (WCAG 2.1.1; axe's scrollable-region-focusable).
 */
export function TableRegion(props: { label: string; children: Child }) {
  return (
    <section class="table-wrap" aria-label={props.label} tabindex={0}>
      {props.children}
    </section>
  );
}

export type FieldErrors = Record<string, string>;

/** A list of the form's errors at the top, each linking to its field (WCAG 3.3.1). */
export function ErrorSummary(props: { errors: FieldErrors; message?: string }) {
  const entries = Object.entries(props.errors);
  if (entries.length === 0 && !props.message) return null;
  return (
    <div class="summary" role="alert" tabindex={-1} id="fouten">
      <h2>Er ging iets mis</h2>
      {props.message ? <p>{props.message}</p> : null}
      {entries.length > 0 ? (
        <ul>
          {entries.map(([field, message]) => (
            <li key={field}>
              <a href={`#${fieldId(field)}`}>{message}</a>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function fieldId(name: string): string {
  return `veld-${name.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

/** The ids of a field's hint and error, for aria-describedby. */
function describedByIds(id: string, hint: string | undefined, error: string | undefined): string | undefined {
  return [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
}

/** A field's label, then its hint and error, which the control points at with aria-describedby. */
function FieldLabel(props: { id: string; label: string; hint?: string; error?: string; required?: boolean }) {
  return (
    <>
      <label for={props.id}>
        {props.label}
        {props.required ? ' (verplicht)' : ''}
      </label>
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </>
  );
}

type InputType =
  | 'text'
  | 'email'
  | 'url'
  | 'number'
  | 'password'
  | 'search'
  | 'date'
  | 'datetime-local'
  | 'file';

/** A labelled input whose hint and error are tied to it with aria-describedby. */
export function Field(props: {
  name: string;
  label: string;
  value?: string;
  type?: InputType;
  errors?: FieldErrors;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  accept?: string;
  multiline?: boolean;
  rows?: number;
  min?: string;
  max?: string;
}) {
  const id = fieldId(props.name);
  const error = props.errors?.[props.name];
  const describedBy = describedByIds(id, props.hint, error);
  const common = {
    id,
    name: props.name,
    required: props.required,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': describedBy,
  };
  return (
    <div>
      <FieldLabel id={id} label={props.label} hint={props.hint} error={error} required={props.required} />
      {props.multiline ? (
        <textarea {...common} rows={props.rows ?? 4}>
          {props.value ?? ''}
        </textarea>
      ) : (
        <input
          {...common}
          type={props.type ?? 'text'}
          value={props.type === 'file' || props.type === 'password' ? undefined : (props.value ?? '')}
          autocomplete={props.autocomplete}
          accept={props.accept}
          min={props.min}
          max={props.max}
        />
      )}
    </div>
  );
}

export function SelectField(props: {
  name: string;
  label: string;
  options: { value: string; label: string }[];
  value?: string;
  errors?: FieldErrors;
  hint?: string;
  required?: boolean;
}) {
  const id = fieldId(props.name);
  const error = props.errors?.[props.name];
  const describedBy = describedByIds(id, props.hint, error);
  return (
    <div>
      <FieldLabel id={id} label={props.label} hint={props.hint} error={error} required={props.required} />
      <select
        id={id}
        name={props.name}
        required={props.required}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
      >
        {props.options.map((option) => (
          <option key={option.value} value={option.value} selected={option.value === props.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A group of checkboxes (e.g. topics) in a fieldset with a legend. */
export function CheckboxGroup(props: {
  name: string;
  legend: string;
  options: { value: string; label: string }[];
  checked: string[];
  errors?: FieldErrors;
}) {
  const id = fieldId(props.name);
  const error = props.errors?.[props.name];
  return (
    <fieldset id={id} aria-describedby={error ? `${id}-error` : undefined}>
      <legend>{props.legend}</legend>
      {error ? (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
      {props.options.map((option) => (
        <label class="check" key={option.value}>
          <input
            type="checkbox"
            name={props.name}
            value={option.value}
            checked={props.checked.includes(option.value)}
          />
          {option.label}
        </label>
      ))}
    </fieldset>
  );
}

/** A short confirmation after a change (Post/Redirect/Get with `?ok=`), announced politely. */
export function Notice(props: { c: Context<AppEnv>; messages: Record<string, string> }) {
  const key = props.c.req.query('ok');
  const message = key ? props.messages[key] : undefined;
  return message ? (
    <p class="notice" role="status">
      {message}
    </p>
  ) : null;
}

const dutchErrors = z.locales.nl().localeError;

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

/**
 * Validates a parsed form with a zod schema; messages are Dutch (the schema's own messages win,
 * zod's Dutch locale fills in the rest), keyed by the field's name.
 */
export function validateForm<T extends z.ZodType>(schema: T, input: unknown): FormResult<z.infer<T>> {
  const result = schema.safeParse(input, { error: dutchErrors });
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, errors: zodFieldErrors(result.error) };
}

export function zodFieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : 'form';
    errors[key] ??= issue.message;
  }
  return errors;
}

/** Field errors of a domain rule that failed (e.g. a duplicate slug) in the form's shape. */
export function domainFieldErrors(error: unknown): FieldErrors | null {
  if (!(error instanceof Invalid)) return null;
  const errors: FieldErrors = {};
  for (const field of error.fields) errors[field.field] ??= field.message;
  if (Object.keys(errors).length === 0) errors.form = error.message;
  return errors;
}

/** The form body as plain values; repeated fields (checkbox groups) become arrays. */
export async function readForm(c: Context<AppEnv>): Promise<Record<string, string | string[]>> {
  const body = await parseFormBody(c, { all: true });
  const values: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === '_csrf') continue;
    if (Array.isArray(value)) values[key] = value.filter((v): v is string => typeof v === 'string');
    else if (typeof value === 'string') values[key] = value;
  }
  return values;
}

export function asList(value: string | string[] | undefined): string[] {
  if (value === undefined || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Guards an admin area: anonymous visitors go to the login page, a too-low role gets a Dutch 403
 * page, and every change must carry the session's CSRF token.
 */
export function adminAccess(role: Role, options: { csrf?: 'in-stream' } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.principal;
    if (!principal) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect('/admin/login', 303);
      return c.html(<ErrorPage c={c} status={401} message="Log opnieuw in om door te gaan." />, 401);
    }
    if (!roleAtLeast(principal.role, role)) {
      return c.html(
        <ErrorPage
          c={c}
          status={403}
          message={`Hiervoor is de rol "${ROLE_LABELS[role]}" of hoger nodig.`}
        />,
        403,
      );
    }
    // A large upload checks the form's token while its body streams (api/uploads.ts `csrfFirst`);
    // any other body is checked here, before the route sees it.
    const streamed = options.csrf === 'in-stream' && multipartBoundary(c.req.header('content-type')) !== null;
    if (!streamed) await assertCsrf(c);
    return next();
  };
}

export const ROLE_LABELS: Record<Role, string> = {
  viewer: 'lezer',
  editor: 'redacteur',
  admin: 'beheerder',
};

const ERROR_TITLES: Record<number, string> = {
  400: 'Ongeldig verzoek',
  401: 'Niet ingelogd',
  403: 'Geen toegang',
  404: 'Niet gevonden',
  409: 'Dat kan nu niet',
  413: 'Te groot',
  415: 'Verkeerd formaat',
  422: 'Ongeldige invoer',
  429: 'Te veel verzoeken',
  500: 'Er ging iets mis',
  503: 'Tijdelijk niet beschikbaar',
};

export function ErrorPage(props: { c: Context<AppEnv>; status: number; message: string }) {
  return (
    <AdminPage c={props.c} title={ERROR_TITLES[props.status] ?? 'Er ging iets mis'}>
      <p role="alert">{props.message}</p>
      <p>
        <a href="/admin">Terug naar het overzicht</a>
      </p>
    </AdminPage>
  );
}

/** Admin pages answer errors with a Dutch page, never problem+json or a stack trace. */
export function adminErrorPage(error: Error, c: Context<AppEnv>) {
  if (error instanceof DomainError) {
    return c.html(<ErrorPage c={c} status={error.status} message={error.message} />, error.status);
  }
  // A request that could not be read (a broken form body, too large): the client's mistake, not ours.
  if (error instanceof HTTPException && error.status < 500) {
    const message = 'Dit verzoek kon niet worden gelezen. Laad de pagina opnieuw en probeer het nog eens.';
    return c.html(<ErrorPage c={c} status={error.status} message={message} />, error.status);
  }
  if (isUnstorableText(error)) {
    const message = 'Tekst kan geen NUL-teken (U+0000) bevatten. Haal het weg en probeer het opnieuw.';
    return c.html(<ErrorPage c={c} status={422} message={message} />, 422);
  }
  c.var.logger.error({ err: error }, 'unhandled error in admin page');
  return c.html(
    <ErrorPage c={c} status={500} message="Er ging iets mis aan onze kant. Probeer het later opnieuw." />,
    500,
  );
}

const amsterdamDateTime = new Intl.DateTimeFormat('nl-NL', {
  timeZone: 'Europe/Amsterdam',
  dateStyle: 'medium',
  timeStyle: 'short',
});

/** Times are shown in Europe/Amsterdam, whatever the server's zone. */
export function formatDateTime(value: Date | null | undefined): string {
  return value ? amsterdamDateTime.format(value) : '—';
}

export const numberFormat = new Intl.NumberFormat('nl-NL');
