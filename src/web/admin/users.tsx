/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import { changeUser, createUserAudited } from '../../api/routes/users.js';
import { Conflict } from '../../domain/errors.js';
import { getUser, listUsers, PASSWORD_LENGTH, type PublicUser, ROLES } from '../../domain/users.js';
import { adminArea } from './area.js';
import { type Column, DataTable } from './crud.js';
import {
  ActionButton,
  AdminPage,
  domainFieldErrors,
  ErrorSummary,
  Field,
  type FieldErrors,
  formatDateTime,
  Notice,
  PostForm,
  ROLE_LABELS,
  readForm,
  SelectField,
  validateForm,
} from './ui.js';

/**
 * /admin/users (admins): accounts, adding one with an initial password (the API offers no
 * invitation link), changing role or password, disabling and enabling. The domain refuses to
 * leave no active admin; the changes are the API's own (routes/users.ts), audit entry included.
 */

const OK_MESSAGES = {
  created: 'De gebruiker is aangemaakt. Geef het wachtwoord op een veilige manier door.',
  role: 'De rol is gewijzigd. Lopende sessies van deze gebruiker zijn beëindigd.',
  password: 'Het wachtwoord is gewijzigd. Lopende sessies van deze gebruiker zijn beëindigd.',
  disabled: 'De gebruiker is uitgeschakeld en overal uitgelogd.',
  enabled: 'De gebruiker kan weer inloggen.',
};

const ROLE_OPTIONS = [...ROLES].reverse().map((value) => ({ value, label: ROLE_LABELS[value] }));
const roleField = z.enum(ROLES, { error: 'Kies een rol.' });
const passwordField = z
  .string()
  .min(PASSWORD_LENGTH.min, `Gebruik minstens ${PASSWORD_LENGTH.min} tekens.`)
  .max(PASSWORD_LENGTH.max, `Gebruik hoogstens ${PASSWORD_LENGTH.max} tekens.`);

const CreateUserForm = z.object({
  email: z.string().trim().max(254, 'Dit e-mailadres is te lang.').email('Geef een geldig e-mailadres.'),
  name: z.string().trim().max(200, 'Gebruik hoogstens 200 tekens.').default(''),
  role: roleField,
  password: passwordField,
});

type FormValues = Record<string, string | string[]>;

const USER_COLUMNS: Column<PublicUser>[] = [
  { label: 'Naam', cell: (user) => <a href={`/admin/users/${user.id}`}>{user.name || user.email}</a> },
  { label: 'E-mailadres', cell: (user) => user.email },
  { label: 'Rol', cell: (user) => ROLE_LABELS[user.role] },
  {
    label: 'Status',
    cell: (user) => <span class="badge">{user.disabled_at ? 'Uitgeschakeld' : 'Actief'}</span>,
  },
  { label: 'Aangemaakt', cell: (user) => formatDateTime(user.created_at) },
];

/** A domain rule's or a taken address's field errors; anything else is the error page's business. */
function formErrors(error: unknown): FieldErrors | null {
  if (error instanceof Conflict && error.fields.length > 0) {
    return Object.fromEntries(error.fields.map((field) => [field.field, field.message]));
  }
  return domainFieldErrors(error);
}

export function userPages() {
  const app = adminArea('admin');

  app.get('/', async (c) => {
    const users = await listUsers(c.var.deps.db);
    return c.html(
      <AdminPage c={c} title="Gebruikers">
        <Notice c={c} messages={OK_MESSAGES} />
        <p>
          <a href="/admin/users/new">Gebruiker toevoegen</a>
        </p>
        <DataTable
          caption="Alle accounts, ook uitgeschakelde"
          columns={USER_COLUMNS}
          rows={users}
          rowKey={(user) => user.id}
          empty="Er zijn nog geen gebruikers."
        />
      </AdminPage>,
    );
  });

  app.get('/new', (c) => c.html(<NewUserPage c={c} values={{ role: 'editor' }} errors={{}} />));

  app.post('/', async (c) => {
    const form = await readForm(c);
    const result = validateForm(CreateUserForm, form);
    if (!result.ok) return c.html(<NewUserPage c={c} values={form} errors={result.errors} />, 422);
    try {
      const user = await createUserAudited(c, result.data);
      return c.redirect(`/admin/users/${user.id}?ok=created`, 303);
    } catch (error) {
      const errors = formErrors(error);
      if (!errors) throw error;
      return c.html(
        <NewUserPage c={c} values={form} errors={errors} />,
        error instanceof Conflict ? 409 : 422,
      );
    }
  });

  app.get('/:id{[0-9]{1,18}}', async (c) => {
    const user = await getUser(c.var.deps.db, c.req.param('id'));
    return c.html(<UserPage c={c} user={user} errors={{}} />);
  });

  /** One change from the user's page: validate its field, change, or show the page again with why not. */
  const change = <S extends z.ZodType>(
    path: string,
    schema: S,
    changes: (input: z.infer<S>) => Parameters<typeof changeUser>[2],
    ok: keyof typeof OK_MESSAGES,
  ) =>
    app.post(`/:id{[0-9]{1,18}}/${path}`, async (c) => {
      const id = c.req.param('id');
      const result = validateForm(schema, await readForm(c));
      if (!result.ok) {
        return c.html(<UserPage c={c} user={await getUser(c.var.deps.db, id)} errors={result.errors} />, 422);
      }
      try {
        await changeUser(c, id, changes(result.data));
      } catch (error) {
        const errors = formErrors(error);
        if (!errors) throw error;
        const status = error instanceof Conflict ? 409 : 422;
        return c.html(<UserPage c={c} user={await getUser(c.var.deps.db, id)} errors={errors} />, status);
      }
      return c.redirect(`/admin/users/${id}?ok=${ok}`, 303);
    });

  change('role', z.object({ role: roleField }), ({ role }) => ({ role }), 'role');
  change('password', z.object({ password: passwordField }), ({ password }) => ({ password }), 'password');
  change('disable', z.object({}), () => ({ disabled: true }), 'disabled');
  change('enable', z.object({}), () => ({ disabled: false }), 'enabled');

  return app;
}

function text(values: FormValues, name: string): string {
  const value = values[name];
  return typeof value === 'string' ? value : '';
}

function NewUserPage(props: { c: Context<AppEnv>; values: FormValues; errors: FieldErrors }) {
  const { values, errors } = props;
  return (
    <AdminPage c={props.c} title="Gebruiker toevoegen">
      <ErrorSummary errors={errors} />
      <PostForm c={props.c} action="/admin/users">
        <Field
          name="email"
          label="E-mailadres"
          type="email"
          autocomplete="off"
          required
          value={text(values, 'email')}
          errors={errors}
        />
        <Field name="name" label="Naam" value={text(values, 'name')} errors={errors} />
        <SelectField
          name="role"
          label="Rol"
          options={ROLE_OPTIONS}
          value={text(values, 'role')}
          errors={errors}
          hint="Lezer: alleen kijken. Redacteur: inhoud maken en versturen. Beheerder: ook gebruikers, tokens en koppelingen."
        />
        <Field
          name="password"
          label="Eerste wachtwoord"
          type="password"
          autocomplete="new-password"
          required
          errors={errors}
          hint={`Minstens ${PASSWORD_LENGTH.min} tekens en moeilijk te raden, bijvoorbeeld een zin van vier of meer ongewone woorden. Geef het op een veilige manier door; de gebruiker kan het daarna laten wijzigen.`}
        />
        <button type="submit">Gebruiker aanmaken</button>
      </PostForm>
    </AdminPage>
  );
}

function UserPage(props: { c: Context<AppEnv>; user: PublicUser; errors: FieldErrors }) {
  const { c, user, errors } = props;
  const base = `/admin/users/${user.id}`;
  const self = c.var.principal?.user.id === user.id;
  // Disabling has no field of its own; its refusal is said at the top.
  const { disabled, ...fieldErrors } = errors;
  return (
    <AdminPage c={c} title={user.name || user.email}>
      <Notice c={c} messages={OK_MESSAGES} />
      <ErrorSummary errors={fieldErrors} message={disabled} />
      <dl>
        <dt>E-mailadres</dt>
        <dd>{user.email}</dd>
        <dt>Rol</dt>
        <dd>{ROLE_LABELS[user.role]}</dd>
        <dt>Status</dt>
        <dd>{user.disabled_at ? `Uitgeschakeld sinds ${formatDateTime(user.disabled_at)}` : 'Actief'}</dd>
        <dt>Aangemaakt</dt>
        <dd>{formatDateTime(user.created_at)}</dd>
      </dl>
      <h2>Rol wijzigen</h2>
      <PostForm c={c} action={`${base}/role`}>
        <SelectField
          name="role"
          label="Rol"
          options={ROLE_OPTIONS}
          value={user.role}
          errors={fieldErrors}
          hint={
            self
              ? 'Dit is je eigen account: met een lagere rol kun je deze pagina niet meer openen.'
              : undefined
          }
        />
        <button type="submit" class="secondary">
          Rol opslaan
        </button>
      </PostForm>
      <h2>Wachtwoord wijzigen</h2>
      <PostForm c={c} action={`${base}/password`}>
        <Field
          name="password"
          label="Nieuw wachtwoord"
          type="password"
          autocomplete="new-password"
          errors={fieldErrors}
          hint={`Minstens ${PASSWORD_LENGTH.min} tekens en moeilijk te raden. Lopende sessies van deze gebruiker worden beëindigd.`}
        />
        <button type="submit" class="secondary">
          Wachtwoord opslaan
        </button>
      </PostForm>
      <h2>Toegang</h2>
      {user.disabled_at ? (
        <ActionButton c={c} action={`${base}/enable`} label="Weer inschakelen" />
      ) : (
        <ActionButton c={c} action={`${base}/disable`} label="Uitschakelen" variant="danger" />
      )}
      <p>
        <a href="/admin/users">Alle gebruikers</a>
      </p>
    </AdminPage>
  );
}
