/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { z } from 'zod';
import { setAppCookie } from '../../api/cookies.js';
import type { AppEnv } from '../../api/deps.js';
import { parseFormBody } from '../../api/forms.js';
import { assertCsrf, isFormRequest } from '../../api/middleware/auth.js';
import { logIn, logOut } from '../../api/routes/auth.js';
import { completeSetup, isSetupTokenValid } from '../../domain/auth.js';
import { DomainError, Invalid, TooManyRequests } from '../../domain/errors.js';
import { PASSWORD_LENGTH } from '../../domain/users.js';
import { constantTimeEqual, randomToken } from '../../infra/crypto.js';
import { FormError, Layout } from '../layout.js';
import { AdminPage, ErrorSummary, Field, type FieldErrors } from './ui.js';

const LOGIN_CSRF_COOKIE = 'tp_login_csrf';

const SetupEmail = z
  .string()
  .trim()
  .min(1, 'Vul je e-mailadres in.')
  .max(254, 'Een e-mailadres mag hoogstens 254 tekens lang zijn.')
  .email('Vul een geldig e-mailadres in, bijvoorbeeld naam@voorbeeld.nl.');

/** `45 seconden`, `1 minuut`, `12 minuten`. */
function waitInDutch(seconds: number): string {
  if (seconds < 90) return seconds === 1 ? '1 seconde' : `${seconds} seconden`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minuten`;
}

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : '';
}

/**
 * Login (with its own double-submit CSRF token, as there is no session yet), first-run setup
 * and logout.
 */
export function authPages() {
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
    setAppCookie(c, LOGIN_CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: '/admin' });
    return c.html(loginPage(csrf));
  });

  app.post('/login', async (c) => {
    if (!isFormRequest(c)) return c.text('Send the login form.', 415);
    const form = await parseFormBody(c);
    const cookie = getCookie(c, LOGIN_CSRF_COOKIE) ?? '';
    const csrf = randomToken();
    setAppCookie(c, LOGIN_CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: '/admin' });
    if (!cookie || !constantTimeEqual(cookie, field(form, '_csrf'))) {
      return c.html(loginPage(csrf, 'Het formulier is verlopen. Probeer het opnieuw.'), 403);
    }
    try {
      await logIn(c, field(form, 'email'), field(form, 'password'));
    } catch (error) {
      if (error instanceof TooManyRequests) {
        c.header('retry-after', String(error.retryAfterSeconds));
        const message = `Te veel pogingen. Probeer het over ${waitInDutch(error.retryAfterSeconds)} opnieuw.`;
        return c.html(loginPage(csrf, message, field(form, 'email')), 429);
      }
      if (error instanceof DomainError) {
        const message = 'Het e-mailadres of wachtwoord klopt niet.';
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

  const setupPage = (
    c: Context<AppEnv>,
    token: string,
    errors: FieldErrors = {},
    fields: Record<string, string> = {},
  ) => (
    <AdminPage c={c} title="Eerste beheerder instellen">
      <p>Maak het eerste beheerdersaccount aan. Deze link werkt één keer.</p>
      <ErrorSummary errors={errors} />
      <form method="post" action={`/admin/setup/${encodeURIComponent(token)}`} novalidate>
        <Field
          name="email"
          label="E-mailadres"
          type="email"
          autocomplete="username"
          required
          value={fields.email ?? ''}
          errors={errors}
        />
        <Field name="name" label="Naam" autocomplete="name" value={fields.name ?? ''} errors={errors} />
        <Field
          name="password"
          label="Wachtwoord"
          type="password"
          autocomplete="new-password"
          required
          errors={errors}
          hint={`Minstens ${PASSWORD_LENGTH.min} tekens en moeilijk te raden: bijvoorbeeld een zin van vier of meer ongewone woorden.`}
        />
        <button type="submit">Account aanmaken</button>
      </form>
    </AdminPage>
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
    return c.html(setupPage(c, token));
  });

  // The unguessable one-time token in the URL is what protects this form (no session exists yet).
  app.post('/setup/:token', async (c) => {
    if (!isFormRequest(c)) return c.text('Send the setup form.', 415);
    const { db, clock } = c.var.deps;
    const token = c.req.param('token');
    const form = await parseFormBody(c);
    const input = {
      email: field(form, 'email'),
      name: field(form, 'name'),
      password: field(form, 'password'),
    };
    const email = SetupEmail.safeParse(input.email);
    if (!email.success) {
      return c.html(setupPage(c, token, { email: email.error.issues[0]!.message }, input), 422);
    }
    try {
      await db.transaction().execute((tx) => completeSetup(tx, clock, token, input));
    } catch (error) {
      if (error instanceof Invalid && error.fields.length > 0) {
        const errors = Object.fromEntries(error.fields.map((f) => [f.field, f.message]));
        return c.html(setupPage(c, token, errors, input), 422);
      }
      if (error instanceof DomainError) return c.html(expiredSetup(), 410);
      throw error;
    }
    await logIn(c, input.email, input.password);
    return c.redirect('/admin', 303);
  });

  return app;
}

async function assertCsrfIfSession(c: import('hono').Context<AppEnv>) {
  if (c.var.principal) await assertCsrf(c);
}
