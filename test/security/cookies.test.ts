import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { issueSetupToken } from '../../src/domain/auth.js';
import { createTestContext, json, TEST_PASSWORD, type TestContext } from '../helpers/context.js';

/**
 * Every cookie the service sets (the login form's CSRF cookie, the session, the session's
 * deletion at logout) carries `Secure` when the site is served over https: by the request's URL
 * or by PUBLIC_BASE_URL (behind a TLS-terminating proxy). Over plain http it must not, or a local
 * install could not log in.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

/** The app on a test context's database, with the PUBLIC_BASE_URL given. */
const appFor = (context: TestContext, publicBaseUrl: string) =>
  createApp({ ...context.deps, config: { ...context.deps.config, publicBaseUrl } });

const cookiesOf = (res: Response) => res.headers.getSetCookie();
const name = (cookie: string) => cookie.split('=')[0];
const isSecure = (cookie: string) => /;\s*Secure(;|$)/i.test(cookie);

/**
 * Goes through every flow that sets a cookie (login page, failed and successful form login,
 * API login and logout, form logout, first-run setup) at `base`, and returns every Set-Cookie.
 */
async function everyCookie(base: string, publicBaseUrl: string): Promise<string[]> {
  const app = appFor(ctx, publicBaseUrl);
  const seen: string[] = [];
  const keep = (res: Response) => {
    seen.push(...cookiesOf(res));
    return res;
  };
  const email = `koekje-${Math.random().toString(36).slice(2)}@voorbeeld.test`;
  await ctx.userWithToken('editor', email);

  const formLogin = async (password: string) => {
    const page = keep(await app.request(`${base}/admin/login`));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    return keep(
      await app.request(`${base}/admin/login`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: cookiesOf(page)[0]!.split(';')[0]!,
        },
        body: new URLSearchParams({ email, password, _csrf: csrf }).toString(),
      }),
    );
  };
  expect((await formLogin('fout wachtwoord')).status).toBe(401);
  const loggedIn = await formLogin(TEST_PASSWORD);
  expect(loggedIn.status).toBe(303);
  const session = cookiesOf(loggedIn)
    .find((c) => c.startsWith('tp_session='))!
    .split(';')[0]!;
  const dashboard = await app.request(`${base}/admin`, { headers: { cookie: session } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await dashboard.text())![1]!;
  const formLogout = keep(
    await app.request(`${base}/admin/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session },
      body: new URLSearchParams({ _csrf: csrf }).toString(),
    }),
  );
  expect(formLogout.status).toBe(303);

  const apiLogin = keep(
    await app.request(`${base}/api/v1/auth/login`, json({ email, password: TEST_PASSWORD })),
  );
  expect(apiLogin.status).toBe(200);
  const apiSession = cookiesOf(apiLogin)[0]!.split(';')[0]!;
  const { csrfToken } = await apiLogin.json();
  const apiLogout = keep(
    await app.request(`${base}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { cookie: apiSession, 'x-csrf-token': csrfToken },
    }),
  );
  expect(apiLogout.status).toBe(204);

  const fresh = await createTestContext();
  try {
    const freshApp = appFor(fresh, publicBaseUrl);
    const setup = await issueSetupToken(fresh.db, fresh.deps.clock);
    const done = keep(
      await freshApp.request(`${base}/admin/setup/${setup!.token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: 'eerste@voorbeeld.test', password: TEST_PASSWORD }).toString(),
      }),
    );
    expect(done.status).toBe(303);
  } finally {
    await fresh.close();
  }
  return seen;
}

describe('cookies', () => {
  it('all carry Secure when the request is made over https', async () => {
    const cookies = await everyCookie('https://nieuws.voorbeeld.test', 'http://localhost:3000');
    expect(new Set(cookies.map(name))).toEqual(new Set(['tp_login_csrf', 'tp_session']));
    // The deletion at logout too: two of the session cookies are deletions.
    expect(cookies.filter((c) => c.startsWith('tp_session=;')).length).toBe(2);
    expect(cookies.filter((c) => !isSecure(c))).toEqual([]);
  }, 60_000);

  it('all carry Secure when PUBLIC_BASE_URL is https, even on a request that arrives over http', async () => {
    const cookies = await everyCookie('http://localhost:3000', 'https://nieuws.voorbeeld.test');
    expect(new Set(cookies.map(name))).toEqual(new Set(['tp_login_csrf', 'tp_session']));
    expect(cookies.filter((c) => !isSecure(c))).toEqual([]);
  }, 60_000);

  it('carry no Secure on plain http with an http PUBLIC_BASE_URL (a local install can log in)', async () => {
    const cookies = await everyCookie('http://localhost:3000', 'http://localhost:3000');
    expect(cookies.length).toBeGreaterThan(0);
    expect(cookies.filter(isSecure)).toEqual([]);
  }, 60_000);

  it('are set only through the helper that adds Secure', async () => {
    // A new cookie set straight with hono's setCookie would bypass the https rule above.
    const root = path.resolve(import.meta.dirname, '../../src');
    const offenders: string[] = [];
    for (const file of await readdir(root, { recursive: true })) {
      if (!/\.tsx?$/.test(file) || file === path.join('api', 'cookies.ts')) continue;
      const text = await readFile(path.join(root, file), 'utf8');
      if (/\b(setCookie|deleteCookie|setSignedCookie)\s*\(|header\(\s*['"]set-cookie/i.test(text))
        offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
