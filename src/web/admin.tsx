/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../api/deps.js';
import { assertCsrf, isFormRequest, requireRole } from '../api/middleware/auth.js';
import { logIn, logOut } from '../api/routes/auth.js';
import { completeSetup, isSetupTokenValid } from '../domain/auth.js';
import { DomainError, Invalid } from '../domain/errors.js';
import { getMailboxMessage, listMailbox } from '../domain/mailbox.js';
import { constantTimeEqual, randomToken } from '../infra/crypto.js';
import { FormError, Layout } from './layout.js';

const LOGIN_CSRF_COOKIE = 'tp_login_csrf';

function AdminNav() {
  return (
    <nav aria-label="Beheer">
      <a href="/admin">Overzicht</a>
      <a href="/dev/mailbox">Mailbox</a>
      <a href="/admin/linkedin">LinkedIn</a>
      <a href="/docs">API-documentatie</a>
      <form method="post" action="/admin/logout" style="display:inline">
        <button type="submit" style="margin:0;padding:.2rem .6rem">
          Uitloggen
        </button>
      </form>
    </nav>
  );
}

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : '';
}

/**
 * Login (with its own double-submit CSRF token, as there is no session yet), first-run setup,
 * and the pages that need a session. The full admin UI grows here.
 */
export function adminPages() {
  const app = new Hono<AppEnv>();

  const loginPage = (csrf: string, error?: string, email = '') => (
    <Layout title="Inloggen">
      <form method="post" action="/admin/login" novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <FormError id="login-error" message={error} />
        <label for="email">E-mailadres</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          aria-describedby={error ? 'login-error' : undefined}
        />
        <label for="password">Wachtwoord</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Inloggen</button>
      </form>
    </Layout>
  );

  app.get('/login', (c) => {
    const csrf = randomToken();
    setCookie(c, LOGIN_CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: '/admin' });
    return c.html(loginPage(csrf));
  });

  app.post('/login', async (c) => {
    if (!isFormRequest(c)) return c.text('Send the login form.', 415);
    const form = await c.req.parseBody();
    const cookie = getCookie(c, LOGIN_CSRF_COOKIE) ?? '';
    const csrf = randomToken();
    setCookie(c, LOGIN_CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: '/admin' });
    if (!cookie || !constantTimeEqual(cookie, field(form, '_csrf'))) {
      return c.html(loginPage(csrf, 'Het formulier is verlopen. Probeer het opnieuw.'), 403);
    }
    try {
      await logIn(c, field(form, 'email'), field(form, 'password'));
    } catch (error) {
      if (error instanceof DomainError) {
        const message =
          error.status === 429
            ? 'Te veel pogingen. Wacht een paar minuten en probeer het opnieuw.'
            : 'Het e-mailadres of wachtwoord klopt niet.';
        return c.html(loginPage(csrf, message, field(form, 'email')), error.status);
      }
      throw error;
    }
    return c.redirect('/admin', 303);
  });

  app.post('/logout', async (c) => {
    await assertCsrfIfSession(c);
    await logOut(c);
    return c.redirect('/admin/login', 303);
  });

  const setupPage = (token: string, error?: string, fields: Record<string, string> = {}) => (
    <Layout title="Eerste beheerder instellen">
      <p>Maak het eerste beheerdersaccount aan. Deze link werkt één keer.</p>
      <form method="post" action={`/admin/setup/${encodeURIComponent(token)}`} novalidate>
        <FormError id="setup-error" message={error} />
        <label for="email">E-mailadres</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={fields.email ?? ''}
        />
        <label for="name">Naam</label>
        <input id="name" name="name" type="text" autocomplete="name" value={fields.name ?? ''} />
        <label for="password">Wachtwoord (minstens 12 tekens)</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minlength={12}
        />
        <button type="submit">Account aanmaken</button>
      </form>
    </Layout>
  );

  const expiredSetup = () => (
    <Layout title="Link verlopen">
      <p>Deze instellink is verlopen of al gebruikt. Herstart de dienst voor een nieuwe link, of log in.</p>
      <p>
        <a href="/admin/login">Naar inloggen</a>
      </p>
    </Layout>
  );

  app.get('/setup/:token', async (c) => {
    const { db, clock } = c.var.deps;
    const token = c.req.param('token');
    if (!(await isSetupTokenValid(db, clock, token))) return c.html(expiredSetup(), 410);
    return c.html(setupPage(token));
  });

  // The unguessable one-time token in the URL is what protects this form (no session exists yet).
  app.post('/setup/:token', async (c) => {
    if (!isFormRequest(c)) return c.text('Send the setup form.', 415);
    const { db, clock } = c.var.deps;
    const token = c.req.param('token');
    const form = await c.req.parseBody();
    const input = {
      email: field(form, 'email'),
      name: field(form, 'name'),
      password: field(form, 'password'),
    };
    try {
      await db.transaction().execute((tx) => completeSetup(tx, clock, token, input));
    } catch (error) {
      if (error instanceof Invalid && error.fields.length > 0) {
        return c.html(setupPage(token, error.fields.map((f) => f.message).join(' '), input), 422);
      }
      if (error instanceof DomainError) return c.html(expiredSetup(), 410);
      if (error instanceof Error && error.name === 'ZodError') {
        return c.html(setupPage(token, 'Vul een geldig e-mailadres in.', input), 422);
      }
      throw error;
    }
    await logIn(c, input.email, input.password);
    return c.redirect('/admin', 303);
  });

  app.use('/', requireSessionPage);
  app.get('/', (c) => {
    const principal = c.var.principal!;
    return c.html(
      <Layout title="Overzicht" nav={<AdminNav />}>
        <p>
          Ingelogd als {principal.user.name || principal.user.email} ({principal.role}).
        </p>
        <ul>
          <li>
            <a href="/docs">API-documentatie</a>
          </li>
          <li>
            <a href="/dev/mailbox">Mailbox (ontwikkelmodus)</a>
          </li>
          <li>
            <a href="/admin/linkedin">LinkedIn-koppeling</a> · <a href="/dev/linkedin">LinkedIn-proefvoer</a>
          </li>
        </ul>
      </Layout>,
    );
  });

  return app;
}

async function assertCsrfIfSession(c: import('hono').Context<AppEnv>) {
  if (c.var.principal) await assertCsrf(c);
}

/** Pages redirect anonymous visitors to the login page instead of answering 401. */
const requireSessionPage: import('hono').MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.principal) return c.redirect('/admin/login', 303);
  return requireRole('viewer')(c, next);
};

/** The local mailbox (admins only): what would have been sent, with HTML, text and headers. */
export function mailboxPages() {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    if (!c.var.principal) return c.redirect('/admin/login', 303);
    return requireRole('admin')(c, next);
  });

  app.get('/', async (c) => {
    const messages = await listMailbox(c.var.deps.db);
    return c.html(
      <Layout title="Mailbox" nav={<AdminNav />}>
        {c.var.deps.config.mailerKind === 'resend' ? (
          <p>Resend is ingesteld: nieuwe berichten worden echt verstuurd en komen hier niet meer.</p>
        ) : (
          <p>Er is geen RESEND_API_KEY ingesteld: berichten worden hier bewaard in plaats van verstuurd.</p>
        )}
        <table>
          <thead>
            <tr>
              <th scope="col">Tijd</th>
              <th scope="col">Aan</th>
              <th scope="col">Onderwerp</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>{m.created_at.toISOString()}</td>
                <td>{m.to_addresses.join(', ')}</td>
                <td>
                  <a href={`/dev/mailbox/${m.id}`}>{m.subject}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
    );
  });

  app.get('/:id{[0-9]+}', async (c) => {
    const m = await getMailboxMessage(c.var.deps.db, c.req.param('id'));
    return c.html(
      <Layout title={m.subject} nav={<AdminNav />}>
        <p>
          Van {m.from_address} aan {m.to_addresses.join(', ')} · {m.created_at.toISOString()}
        </p>
        <h2>HTML</h2>
        <iframe title="HTML-versie van het bericht" sandbox="" src={`/dev/mailbox/${m.id}/html`} />
        <h2>Tekst</h2>
        <pre>{m.text}</pre>
        <h2>Headers</h2>
        <pre>{JSON.stringify(m.headers, null, 2)}</pre>
      </Layout>,
    );
  });

  // Served with a sandboxing CSP: the message's own HTML must not run script in our origin.
  app.get('/:id{[0-9]+}/html', async (c) => {
    const m = await getMailboxMessage(c.var.deps.db, c.req.param('id'));
    return c.body(m.html, 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
    });
  });

  return app;
}
