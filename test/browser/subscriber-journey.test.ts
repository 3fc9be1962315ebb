import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_MIN_FILL_MS } from '../../src/web/public/signup.js';
import {
  accessibilityViolations,
  createStaffUser,
  launchBrowser,
  logInInBrowser,
  type RunningService,
  screenshot,
  startService,
} from '../helpers/browser.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { waitUntil } from '../helpers/process.js';

/**
 * A subscriber on a phone, in a real Chromium against the real service process: sign up →
 * confirm from the dev mailbox → change preferences → unsubscribe; axe on every page on the way.
 */
let ctx: TestContext;
let service: RunningService;
let browser: Browser;
let phone: BrowserContext;
let staff: BrowserContext;
const ADDRESS = 'fenna.veldkamp@voorbeeld.test';
const ADMIN = 'mailbox-beheer@voorbeeld.test';

beforeAll(async () => {
  ctx = await createTestContext();
  await createStaffUser(ctx, 'admin', ADMIN, 'Beheerder Mailbox');
  [service, browser] = await Promise.all([startService(ctx), launchBrowser()]);
  phone = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
  staff = await browser.newContext();
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await ctx?.close();
});

async function expectAccessible(page: Page, name: string) {
  await screenshot(page, `subscriber-${name}`);
  expect(await accessibilityViolations(page), `${name}: ${page.url()}`).toEqual([]);
}

async function subscriberStatus() {
  const row = await ctx.db
    .selectFrom('subscribers')
    .select(['status', 'locale'])
    .where('email', '=', ADDRESS)
    .executeTakeFirst();
  return row;
}

/** The link of `kind` from the newest mail to the subscriber, read in the dev mailbox as an admin would. */
async function linkFromMailbox(subjectPattern: RegExp, kind: 'confirm' | 'preferences' | 'unsubscribe') {
  const page = await staff.newPage();
  let href: string | undefined;
  await waitUntil(
    async () => {
      await page.goto(`${service.baseUrl}/dev/mailbox`);
      const row = page.getByRole('row').filter({ hasText: ADDRESS }).filter({ hasText: subjectPattern });
      if ((await row.count()) === 0) return false;
      await row.first().getByRole('link').click();
      const text = await page.locator('pre').first().textContent();
      href = new RegExp(`${service.baseUrl}/${kind}/[^\\s)\\]]+`).exec(text ?? '')?.[0];
      return href !== undefined;
    },
    `a mail matching ${subjectPattern} in the mailbox`,
    60_000,
  );
  await page.close();
  return href!;
}

// A real browser and server on a shared two-core machine: 16 s alone, over 30 s beside a busy test run.
describe('subscriber journey in a real browser', () => {
  it('signs up, confirms from the mailbox, changes preferences and unsubscribes, on a phone', async () => {
    const staffPage = await staff.newPage();
    await logInInBrowser(staffPage, service.baseUrl, ADMIN);
    await staffPage.close();

    const page = await phone.newPage();
    await page.goto(`${service.baseUrl}/subscribe`);
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('nl');
    await expectAccessible(page, 'signup');
    await page.getByLabel('E-mailadres').fill(ADDRESS);
    await page.getByLabel('Naam').fill('Fenna Veldkamp');
    await page.getByRole('checkbox', { name: /Nieuwsbrief/ }).check();
    await page.locator('#consent').check();
    // The form's time trap turns away submissions faster than a person can type.
    await page.waitForTimeout(FORM_MIN_FILL_MS + 200);
    await page.getByRole('button', { name: 'Aanmelden' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Kijk in je mailbox');
    await expectAccessible(page, 'signup-sent');
    expect((await subscriberStatus())?.status).toBe('pending');

    const confirmLink = await linkFromMailbox(/./, 'confirm');
    await page.goto(confirmLink);
    await expectAccessible(page, 'confirm');
    // Opening the link (as a scanner would) changes nothing; the button does.
    expect((await subscriberStatus())?.status).toBe('pending');
    await page.getByRole('button', { name: 'Bevestig je aanmelding' }).click();
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toBe('Je aanmelding is bevestigd');
    expect((await subscriberStatus())?.status).toBe('active');
    await expectAccessible(page, 'confirmed');

    await page.getByRole('link', { name: 'Voorkeuren aanpassen' }).click();
    await expectAccessible(page, 'preferences');
    await page.getByRole('radio', { name: 'English' }).check();
    await page.getByRole('button', { name: 'Opslaan' }).click();
    await expect.poll(async () => (await subscriberStatus())?.locale).toBe('en');
    await expectAccessible(page, 'preferences-saved');

    const unsubscribeLink = await linkFromMailbox(/./, 'unsubscribe');
    await page.goto(unsubscribeLink);
    await expectAccessible(page, 'unsubscribe');
    expect((await subscriberStatus())?.status).toBe('active');
    await page.locator('main form button').first().click();
    await expect.poll(async () => (await subscriberStatus())?.status).toBe('unsubscribed');
    await expectAccessible(page, 'unsubscribed');
  }, 120_000);

  it('signs up with the keyboard alone: skip link first, the form reached by Tab, focus visibly outlined', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${service.baseUrl}/subscribe`);
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return { id: el.id, text: el.textContent?.trim(), outline: style.outlineStyle };
      });
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ text: 'Naar de inhoud', outline: 'solid' });
    // Tab on until the email field, then fill the form with keys only.
    for (let step = 0; step < 20 && (await focused()).id !== 'email'; step++)
      await page.keyboard.press('Tab');
    expect((await focused()).outline).toBe('solid');
    await page.keyboard.type('toetsenbord@voorbeeld.test');
    for (let step = 0; step < 20 && !(await focused()).id.startsWith('topic-'); step++) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Space');
    for (let step = 0; step < 20 && (await focused()).id !== 'consent'; step++)
      await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    for (let step = 0; step < 20 && (await focused()).id !== 'signup-submit'; step++) {
      await page.keyboard.press('Tab');
    }
    expect((await focused()).outline).toBe('solid');
    await page.waitForTimeout(FORM_MIN_FILL_MS + 200);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Kijk in je mailbox');
    const row = await ctx.db
      .selectFrom('subscribers')
      .select('status')
      .where('email', '=', 'toetsenbord@voorbeeld.test')
      .executeTakeFirst();
    expect(row?.status).toBe('pending');
  }, 120_000);
});
