import type { Role } from '../../src/db/schema.js';
import { TEST_PASSWORD, type TestContext } from './context.js';

export interface AdminBrowser {
  userId: string;
  email: string;
  /** GET a page with the session cookie. */
  page(path: string): Promise<Response>;
  /** POST a form (urlencoded; arrays repeat the field) with the session cookie and its CSRF token. */
  submit(
    path: string,
    fields?: Record<string, string | string[]>,
    options?: { csrf?: string },
  ): Promise<Response>;
  /** POST multipart form data (file uploads) with the session cookie and its CSRF token. */
  upload(path: string, form: FormData): Promise<Response>;
  cookie: string;
  csrf: string;
}

/**
 * Logs a new user of `role` in through the real login form (with its own CSRF cookie), the way a
 * browser does, and returns helpers that send the session cookie and CSRF token along.
 */
export async function logInAs(ctx: TestContext, role: Role, email?: string): Promise<AdminBrowser> {
  const { userId } = await ctx.userWithToken(role, email);
  const address = email ?? (await userEmail(ctx, userId));
  const loginPage = await ctx.app.request('/admin/login');
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(await loginPage.text())![1]!;
  const loginCookie = loginPage.headers.get('set-cookie')!.split(';')[0]!;
  const res = await ctx.app.request('/admin/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ email: address, password: TEST_PASSWORD, _csrf: loginCsrf }).toString(),
  });
  if (res.status !== 303) throw new Error(`login as ${role} failed with ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.match(/tp_session=[^;]+/)![0];
  const dashboard = await ctx.app.request('/admin', { headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await dashboard.text())?.[1];
  if (!csrf) throw new Error('the admin page carries no CSRF token');

  return {
    userId,
    email: address,
    cookie,
    csrf,
    page: async (path) => ctx.app.request(path, { headers: { cookie } }),
    submit: async (path, fields = {}, options = {}) => {
      const body = new URLSearchParams();
      body.append('_csrf', options.csrf ?? csrf);
      for (const [name, value] of Object.entries(fields)) {
        for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
      }
      return ctx.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: body.toString(),
      });
    },
    upload: async (path, form) => {
      // First, as a browser sends the form's hidden field: streamed uploads check it before any file.
      const body = new FormData();
      body.append('_csrf', csrf);
      form.forEach((value, name) => {
        if (name !== '_csrf') body.append(name, value);
      });
      const encoded = await encodeMultipart(body);
      const headers = { cookie, 'content-type': encoded.contentType };
      return ctx.app.request(path, { method: 'POST', headers, body: encoded.body });
    },
  };
}

/**
 * A form as multipart bytes. Sent as bytes, not as a FormData stream: a stream that the server
 * stops reading early (a refused upload) makes undici throw an uncaught "ReadableStream is
 * already closed" in the test process.
 */
export async function encodeMultipart(form: FormData): Promise<{ body: ArrayBuffer; contentType: string }> {
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: await request.arrayBuffer(), contentType: request.headers.get('content-type')! };
}

async function userEmail(ctx: TestContext, userId: string): Promise<string> {
  const row = await ctx.db
    .selectFrom('users')
    .select('email')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  return row.email;
}
