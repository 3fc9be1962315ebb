/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../api/deps.js';
import { createTokenAudited, revokeTokenAudited } from '../../api/routes/tokens.js';
import { listApiTokens } from '../../domain/auth.js';
import { listUsers, type PublicUser, ROLES } from '../../domain/users.js';
import { adminArea } from './area.js';
import { type Column, DataTable } from './crud.js';
import { amsterdamDateTimeField } from './datetime.js';
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
 * /admin/tokens (admins): API tokens of every user — list, create (the secret is shown once, on
 * the answer to the form, and is stored only as a hash), revoke. The changes are the API's own
 * (routes/tokens.ts), audit entries included.
 */

const CreateTokenForm = z.object({
  name: z.string().trim().min(1, 'Geef het token een naam.').max(100, 'Gebruik hoogstens 100 tekens.'),
  role: z
    .union([z.enum(ROLES), z.literal('')], { error: 'Kies een rol.' })
    .transform((role) => role || undefined),
  userId: z.string().regex(/^\d{1,18}$/, 'Kies een eigenaar.'),
  expiresAt: amsterdamDateTimeField,
});

type FormValues = Record<string, string | string[]>;
type TokenRow = Awaited<ReturnType<typeof listApiTokens>>[number];

export function tokenPages() {
  const app = adminArea('admin');

  app.get('/', async (c) => {
    const { db, clock } = c.var.deps;
    const [tokens, users] = await Promise.all([listApiTokens(db, null), listUsers(db)]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    const now = clock.now();
    const state = (token: TokenRow) =>
      token.revoked_at
        ? `Ingetrokken op ${formatDateTime(token.revoked_at)}`
        : token.expires_at && token.expires_at <= now
          ? 'Verlopen'
          : 'Actief';
    const columns: Column<TokenRow>[] = [
      { label: 'Naam', cell: (token) => token.name },
      { label: 'Begint met', cell: (token) => <code>{token.prefix}…</code> },
      { label: 'Rol', cell: (token) => ROLE_LABELS[token.role] },
      { label: 'Eigenaar', cell: (token) => emails.get(token.user_id) ?? token.user_id },
      { label: 'Aangemaakt', cell: (token) => formatDateTime(token.created_at) },
      {
        label: 'Laatst gebruikt',
        cell: (token) => (token.last_used_at ? formatDateTime(token.last_used_at) : 'Nooit'),
      },
      { label: 'Verloopt', cell: (token) => (token.expires_at ? formatDateTime(token.expires_at) : 'Nooit') },
      { label: 'Status', cell: (token) => <span class="badge">{state(token)}</span> },
      {
        label: 'Actie',
        cell: (token) =>
          token.revoked_at ? null : (
            <ActionButton
              c={c}
              action={`/admin/tokens/${token.id}/revoke`}
              label={`Intrekken: ${token.name}`}
              variant="danger"
            />
          ),
      },
    ];
    return c.html(
      <AdminPage c={c} title="API-tokens">
        <Notice c={c} messages={{ revoked: 'Het token is ingetrokken: het werkt niet meer.' }} />
        <p>
          Een token handelt als zijn eigenaar, nooit met een hogere rol. Alleen het begin van elk token wordt
          bewaard om het te herkennen; het geheim zelf is alleen bij het aanmaken te zien.
        </p>
        <p>
          <a href="/admin/tokens/new">Token aanmaken</a>
        </p>
        <DataTable
          caption="Alle tokens, ook ingetrokken en verlopen"
          columns={columns}
          rows={tokens}
          rowKey={(token) => token.id}
          empty="Er zijn nog geen tokens."
        />
      </AdminPage>,
    );
  });

  app.get('/new', async (c) => {
    const users = await listUsers(c.var.deps.db);
    return c.html(
      <NewTokenPage
        c={c}
        users={users}
        values={{ userId: c.var.principal!.user.id, role: '' }}
        errors={{}}
      />,
    );
  });

  app.post('/', async (c) => {
    const form = await readForm(c);
    const users = await listUsers(c.var.deps.db);
    const result = validateForm(CreateTokenForm, form);
    if (!result.ok)
      return c.html(<NewTokenPage c={c} users={users} values={form} errors={result.errors} />, 422);
    let created: Awaited<ReturnType<typeof createTokenAudited>>;
    try {
      created = await createTokenAudited(c, result.data);
    } catch (error) {
      const errors = domainFieldErrors(error);
      if (!errors) throw error;
      return c.html(<NewTokenPage c={c} users={users} values={form} errors={errors} />, 422);
    }
    // The one and only time the secret is shown: no redirect (it would have to be kept somewhere),
    // and no cache may keep this page.
    c.header('cache-control', 'no-store');
    return c.html(
      <AdminPage c={c} title="Token aangemaakt">
        <p class="notice" role="status">
          Het token "{result.data.name}" is aangemaakt met de rol {ROLE_LABELS[created.role]}. Kopieer het nu:
          het wordt nooit opnieuw getoond.
        </p>
        <label for="nieuw-token">Het token</label>
        <input
          id="nieuw-token"
          type="text"
          readonly
          value={created.token}
          autocomplete="off"
          spellcheck={false}
        />
        <p>
          Gebruik het als <code>Authorization: Bearer …</code>. Kwijt? Trek het in en maak een nieuw.
        </p>
        <p>
          <a href="/admin/tokens">Naar alle tokens</a>
        </p>
      </AdminPage>,
      201,
    );
  });

  app.post('/:id{[0-9]{1,18}}/revoke', async (c) => {
    await revokeTokenAudited(c, c.req.param('id'));
    return c.redirect('/admin/tokens?ok=revoked', 303);
  });

  return app;
}

function NewTokenPage(props: {
  c: Context<AppEnv>;
  users: PublicUser[];
  values: FormValues;
  errors: FieldErrors;
}) {
  const { values, errors } = props;
  const text = (name: string) => (typeof values[name] === 'string' ? values[name] : '');
  return (
    <AdminPage c={props.c} title="Token aanmaken">
      <ErrorSummary errors={errors} />
      <PostForm c={props.c} action="/admin/tokens">
        <Field
          name="name"
          label="Naam"
          required
          value={text('name')}
          errors={errors}
          hint="Waarvoor het dient, bijvoorbeeld 'website' of 'deploy'."
        />
        <SelectField
          name="userId"
          label="Eigenaar"
          options={props.users
            .filter((user) => !user.disabled_at)
            .map((user) => ({ value: user.id, label: `${user.email} (${ROLE_LABELS[user.role]})` }))}
          value={text('userId')}
          errors={errors}
          hint="Het token handelt namens deze gebruiker."
        />
        <SelectField
          name="role"
          label="Rol"
          options={[
            { value: '', label: 'Die van de eigenaar' },
            ...[...ROLES].reverse().map((role) => ({ value: role, label: ROLE_LABELS[role] })),
          ]}
          value={text('role')}
          errors={errors}
          hint="Nooit hoger dan de rol van de eigenaar."
        />
        <Field
          name="expiresAt"
          label="Verloopt op"
          type="datetime-local"
          value={text('expiresAt')}
          errors={errors}
          hint="Nederlandse tijd. Leeg: verloopt niet (trek het in als het niet meer nodig is)."
        />
        <button type="submit">Token aanmaken</button>
      </PostForm>
    </AdminPage>
  );
}
