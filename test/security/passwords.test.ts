import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSetupToken } from '../../src/domain/auth.js';
import { passwordWeakness, personalWords } from '../../src/domain/password-strength.js';
import { logInAs } from '../helpers/admin.js';
import {
  createTestContext,
  json,
  TEST_APP_SECRET,
  TEST_PASSWORD,
  TestClock,
  type TestContext,
} from '../helpers/context.js';
import { childEnv, startScript } from '../helpers/process.js';

/**
 * Passwords are judged by how easy they are to guess (zxcvbn-ts with the common, English and
 * Dutch dictionaries and the account's own address and name), not by length alone: on the
 * first-run setup form, the admin's user form, the API and the CLI alike.
 */
let ctx: TestContext;
const clock = new TestClock();
beforeAll(async () => {
  ctx = await createTestContext({ clock });
});
afterAll(() => ctx.close());

const EMAIL = 'fenna.devries@voorbeeld.test';
/** Each at least 12 characters, so that only the estimator can refuse them. */
const GUESSABLE = ['password1234', 'welkom01welkom', EMAIL, 'Fenna de Vries 2026'];
const STRONG = 'paarse olifant fietst langs de gracht';

const users = () => ctx.db.selectFrom('users').select('email').execute();

describe('the estimator', () => {
  it('refuses common and guessable passwords, the account’s own address among them', async () => {
    for (const password of GUESSABLE) {
      const weakness = await passwordWeakness(password, { email: EMAIL, name: 'Fenna de Vries' });
      expect(weakness, password).not.toBeNull();
      expect(weakness!.nl).toContain('Dit wachtwoord is te makkelijk te raden.');
      expect(weakness!.en).toContain('This password is too easy to guess.');
    }
    expect(await passwordWeakness(STRONG, { email: EMAIL, name: 'Fenna de Vries' })).toBeNull();
    expect(await passwordWeakness(TEST_PASSWORD, { email: EMAIL })).toBeNull();
  });

  it('counts the address and name as the account’s own words', async () => {
    // Not guessable for anyone else, but made of this account's own words.
    const own = 'zwaluwstaart.kwartelkoning';
    expect(await passwordWeakness(own, { email: 'iemand@voorbeeld.test' })).toBeNull();
    expect(
      await passwordWeakness(own, { email: 'zwaluwstaart.kwartelkoning@voorbeeld.test' }),
    ).not.toBeNull();
    expect(await passwordWeakness(own, { name: 'Zwaluwstaart Kwartelkoning' })).not.toBeNull();
    expect(personalWords({ email: 'Jan.Smit@Voorbeeld.test', name: 'Jan Smit' })).toEqual(
      expect.arrayContaining(['jan.smit@voorbeeld.test', 'jan.smit', 'smit', 'voorbeeld', 'jansmit']),
    );
  });

  it('judges a long, repetitive password by its first 64 characters, and still refuses it', async () => {
    // A refusal, not a timing: the estimator answers at all, and the 200-character password of
    // a weak pattern is still weak.
    expect(await passwordWeakness('aB3$'.repeat(50), { email: EMAIL })).not.toBeNull();
  });
});

describe('first-run setup form', () => {
  it('refuses guessable passwords in Dutch on the password field, then accepts a strong one', async () => {
    const fresh = await createTestContext({ clock });
    try {
      const setup = await issueSetupToken(fresh.db, clock);
      const post = (fields: Record<string, string>) =>
        fresh.app.request(`/admin/setup/${setup!.token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        });
      for (const password of GUESSABLE) {
        const res = await post({ email: EMAIL, name: 'Fenna de Vries', password });
        expect(res.status, password).toBe(422);
        const html = await res.text();
        expect(html).toContain('Dit wachtwoord is te makkelijk te raden.');
        // The message is tied to its field, and the field is marked invalid.
        expect(html).toMatch(
          /<p class="field-error" id="veld-password-error">Dit wachtwoord is te makkelijk/,
        );
        const input = /<input[^>]*name="password"[^>]*>/.exec(html)![0];
        expect(input).toContain('aria-invalid="true"');
        expect(input).toMatch(/aria-describedby="[^"]*veld-password-error/);
        // The address is kept; the password is never echoed.
        expect(html).toContain(`value="${EMAIL}"`);
        expect(input).not.toContain('value=');
      }
      const badEmail = await post({ email: 'geen-adres', password: STRONG });
      expect(badEmail.status).toBe(422);
      const badEmailHtml = await badEmail.text();
      expect(/<input[^>]*name="email"[^>]*>/.exec(badEmailHtml)![0]).toContain('aria-invalid="true"');
      expect(badEmailHtml).toContain('Vul een geldig e-mailadres in');
      expect(await fresh.db.selectFrom('users').select('id').execute()).toEqual([]);

      const ok = await post({ email: EMAIL, name: 'Fenna de Vries', password: STRONG });
      expect(ok.status).toBe(303);
      expect(await fresh.db.selectFrom('users').select('email').execute()).toEqual([{ email: EMAIL }]);
    } finally {
      await fresh.close();
    }
  });
});

describe('API user creation and password change', () => {
  it('answers 422 with the reason in English and Dutch on the field, and creates nobody', async () => {
    const admin = await ctx.userWithToken('admin');
    const before = await users();
    for (const password of GUESSABLE) {
      const res = await ctx.app.request(
        '/api/v1/users',
        json({ email: EMAIL, name: 'Fenna de Vries', role: 'editor', password }, admin.headers),
      );
      expect(res.status, password).toBe(422);
      const body = await res.json();
      expect(body.detail).toContain('This password is too easy to guess.');
      expect(body.errors).toEqual([
        { field: 'password', message: expect.stringContaining('Dit wachtwoord is te makkelijk te raden.') },
      ]);
    }
    expect(await users()).toEqual(before);
    const ok = await ctx.app.request(
      '/api/v1/users',
      json({ email: EMAIL, name: 'Fenna de Vries', role: 'editor', password: STRONG }, admin.headers),
    );
    expect(ok.status).toBe(201);
    const { id } = await ok.json();

    const hash = async () =>
      (
        await ctx.db
          .selectFrom('users')
          .select('password_hash')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).password_hash;
    const hashBefore = await hash();
    const change = await ctx.app.request(
      `/api/v1/users/${id}`,
      json({ password: 'fennadevries1' }, admin.headers, 'PATCH'),
    );
    expect(change.status).toBe(422);
    expect(await hash()).toBe(hashBefore);
  });
});

describe('admin user form', () => {
  it('refuses a guessable password on its field, creates nobody, and refuses it as a new password', async () => {
    const admin = await logInAs(ctx, 'admin');
    const before = await users();
    const res = await admin.submit('/admin/users', {
      email: 'joris.bakker@voorbeeld.test',
      name: 'Joris Bakker',
      role: 'editor',
      password: 'welkom01welkom',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="veld-password-error">Dit wachtwoord is te makkelijk te raden/);
    expect(/<input[^>]*name="password"[^>]*>/.exec(html)![0]).toContain('aria-invalid="true"');
    expect(await users()).toEqual(before);

    const change = await admin.submit(`/admin/users/${admin.userId}/password`, { password: 'password1234' });
    expect(change.status).toBe(422);
    expect(await change.text()).toContain('Dit wachtwoord is te makkelijk te raden.');
  });
});

describe('CLI user create', () => {
  const create = (email: string, password: string) => {
    const run = startScript(
      'src/cli.ts',
      ['user', 'create', '--email', email, '--role', 'editor', '--name', 'Fenna de Vries'],
      childEnv({ DATABASE_URL: ctx.databaseUrl, APP_SECRET: TEST_APP_SECRET }),
      `${password}\n`,
    );
    return run.exited.then(({ code }) => ({ code, stderr: run.stderr(), stdout: run.stdout() }));
  };

  it('refuses guessable passwords with the reason, and accepts a strong one', async () => {
    const address = 'cli.gebruiker@voorbeeld.test';
    for (const password of ['password1234', 'welkom01welkom', address]) {
      const result = await create(address, password);
      expect(result.code, password).toBe(2);
      expect(result.stderr).toContain('This password is too easy to guess.');
      expect(result.stderr).toContain('password: Dit wachtwoord is te makkelijk te raden.');
      expect(result.stderr).not.toContain(password);
    }
    expect(await ctx.db.selectFrom('users').select('id').where('email', '=', address).execute()).toEqual([]);
    const ok = await create(address, STRONG);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`Created editor ${address}`);
  }, 120_000);
});
