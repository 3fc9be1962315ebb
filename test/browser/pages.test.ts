import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/domain/demo.js';
import { ADMIN_SECTIONS } from '../../src/web/admin/ui.js';
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

/**
 * axe-core on every public and admin page, found by following links the way a visitor would:
 * from the home page and from every admin section, two clicks deep, on the demo programme.
 */
let ctx: TestContext;
let service: RunningService;
let browser: Browser;
const ADMIN = 'paginatoets@voorbeeld.test';

/**
 * Pages that are not ours to fix: Swagger UI (/docs) and bull-board (/admin/queues) are
 * third-party single-page apps, linked from the admin but not part of its own UI.
 */
const THIRD_PARTY = /^\/(docs|admin\/queues)(\/|$)/;
/** Downloads, feeds and rendered emails (tested with the email templates) are not pages. */
const NOT_A_PAGE =
  /\.(xml|txt|csv|json|pdf|docx?|xlsx?|odt|pptx?|js|css)$|\/files?\/|\/export|\/download|\/html$|\/preview$/;
const MAX_PAGES = 120;

beforeAll(async () => {
  ctx = await createTestContext();
  await createStaffUser(ctx, 'admin', ADMIN, 'Paula Paginatoets');
  [service, browser] = await Promise.all([startService(ctx), launchBrowser()]);
  await seedDemo(ctx.db, { now: new Date(), publicBaseUrl: service.baseUrl });
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await ctx?.close();
});

/** One page per route shape and language: /admin/editions/12 and /admin/editions/13 are the same page. */
function shape(url: URL): string {
  const path = url.pathname
    .replace(/\/\d+(?=\/|$)/g, '/:id')
    .replace(/\/[A-Za-z0-9_-]{20,}(?=\/|$)/g, '/:token');
  // The English version of a page is a page of its own.
  return url.searchParams.get('lang') === 'en' ? `${path}?lang=en` : path;
}

async function crawl(page: Page, starts: string[], within: RegExp, name: string) {
  const seen = new Set<string>();
  const failures: string[] = [];
  let queue = starts.map((path) => ({ url: new URL(path, service.baseUrl), depth: 0 }));
  while (queue.length > 0 && seen.size < MAX_PAGES) {
    const next: typeof queue = [];
    for (const { url, depth } of queue) {
      const key = shape(url);
      if (seen.has(key)) continue;
      seen.add(key);
      const status = (await page.goto(url.href))?.status() ?? 0;
      if (status >= 400) {
        failures.push(`${url.pathname}: HTTP ${status}`);
        continue;
      }
      await screenshot(page, `${name}${key.replace(/[^a-z0-9]+/gi, '-')}`);
      for (const violation of await accessibilityViolations(page)) {
        failures.push(`${url.pathname}: ${violation.id} ${violation.help} — ${violation.nodes[0]?.html}`);
      }
      if (depth >= 2) continue;
      const links = await page
        .locator('a[href]')
        .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
      for (const href of links) {
        const link = new URL(href);
        link.hash = '';
        if (link.origin !== service.baseUrl || !within.test(link.pathname)) continue;
        if (THIRD_PARTY.test(link.pathname) || NOT_A_PAGE.test(link.pathname)) continue;
        next.push({ url: link, depth: depth + 1 });
      }
    }
    queue = next;
  }
  return { pages: seen.size, failures };
}

describe('every page passes axe (WCAG 2.2 A/AA, light and dark)', () => {
  it('public site, in Dutch and English', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    const result = await crawl(
      page,
      ['/', '/?lang=en', '/subscribe/embed'],
      /^\/(?!admin|dev|api)/,
      'public',
    );
    expect(result.failures).toEqual([]);
    expect(result.pages).toBeGreaterThanOrEqual(6);
  }, 300_000);

  it('admin, as an admin who can open every section', async () => {
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    await logInInBrowser(page, service.baseUrl, ADMIN);
    const sections = ADMIN_SECTIONS.map((s) => s.path).filter((path) => !THIRD_PARTY.test(path));
    const result = await crawl(page, ['/admin/login', ...sections], /^\/(admin|dev)\//, 'admin');
    expect(result.failures).toEqual([]);
    expect(result.pages).toBeGreaterThanOrEqual(sections.length);
  }, 600_000);
});
