import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/domain/demo.js';
import { instantToAmsterdamLocal } from '../../src/web/admin/datetime.js';
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
 * Two editors in a real Chromium against the real service: one writes an edition and submits
 * it, the other approves and schedules it in Amsterdam time; after the workers sent it, it is in
 * the archive, the feed and the LinkedIn dry-run feed.
 */
let ctx: TestContext;
let service: RunningService;
let browser: Browser;
let imageServer: Server;
const WRITER = 'schrijver@voorbeeld.test';
const APPROVER = 'goedkeurder@voorbeeld.test';
const TITLE = 'Wonen en zorg in de wijk, winter';
const PARAGRAPH = 'Drie gemeenten delen wat zij leerden over **huisvesting** met begeleiding.';

/** A 1×1 PNG for the edition's image, which the LinkedIn announcement needs for its card. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

beforeAll(async () => {
  ctx = await createTestContext();
  await createStaffUser(ctx, 'editor', WRITER, 'Sanne Schrijver');
  await createStaffUser(ctx, 'admin', APPROVER, 'Gijs Goedkeurder');
  imageServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(PIXEL));
  await new Promise<void>((resolve) => imageServer.listen(0, '127.0.0.1', resolve));
  [service, browser] = await Promise.all([startService(ctx), launchBrowser()]);
  await seedDemo(ctx.db, { now: new Date(), publicBaseUrl: service.baseUrl });
}, 900_000);
afterAll(async () => {
  await browser?.close();
  await service?.stop();
  imageServer?.close();
  await ctx?.close();
});

async function editionRow() {
  return ctx.db
    .selectFrom('editions')
    .select(['id', 'status', 'slug', 'send_at'])
    .where('title', '=', TITLE)
    .executeTakeFirstOrThrow();
}

async function expectAccessible(page: Page, name: string) {
  await screenshot(page, `editor-${name}`);
  expect(await accessibilityViolations(page), `${name}: ${page.url()}`).toEqual([]);
}

describe('editor journey in a real browser', () => {
  it('writes, previews, gets approval from a second editor, schedules, and finds the sent edition everywhere', async () => {
    const writer = await (await browser.newContext()).newPage();
    writer.setDefaultTimeout(30_000);
    await logInInBrowser(writer, service.baseUrl, WRITER);
    await writer.goto(`${service.baseUrl}/admin/editions`);
    await writer.getByRole('link', { name: 'Nieuwe editie' }).click();
    await writer.getByLabel('Titel', { exact: false }).first().fill(TITLE);
    await writer.getByLabel('Onderwerpregel').fill('Nieuws uit het lab: wonen en zorg');
    await writer.getByLabel('Voorvertoningstekst (preheader)').fill('Wat drie gemeenten leerden');
    await writer.getByRole('checkbox', { name: 'Nieuwsbrief' }).check();
    await expectAccessible(writer, 'new');
    await writer.getByRole('button', { name: 'Aanmaken en inhoud toevoegen' }).click();
    await writer.getByRole('heading', { level: 1, name: `Bewerken: ${TITLE}` }).waitFor();

    const imageUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}/wijk.png`;
    await writer.getByLabel('Afbeelding voor de webversie en LinkedIn (optioneel)').fill(imageUrl);
    await writer.getByRole('button', { name: 'Alinea toevoegen' }).click();
    await writer.getByRole('textbox', { name: 'Tekst (verplicht)' }).last().fill(PARAGRAPH);
    await writer.getByRole('button', { name: 'Opslaan' }).first().click();
    await expectAccessible(writer, 'editor');

    // The preview is the email as it will be sent, with the markdown rendered and escaped.
    const preview = writer.frameLocator('iframe').first();
    await expect.poll(() => preview.locator('body').innerHTML()).toContain('<strong>huisvesting</strong>');

    const { id } = await editionRow();
    await writer.goto(`${service.baseUrl}/admin/editions/${id}`);
    await writer.getByRole('button', { name: 'Ter beoordeling aanbieden' }).click();
    await expect.poll(async () => (await editionRow()).status).toBe('in_review');
    // Four eyes: the writer cannot approve their own edition.
    await writer.getByRole('button', { name: 'Goedkeuren' }).click();
    await expect.poll(() => writer.locator('main').textContent()).toContain('Vierogenprincipe');
    expect((await editionRow()).status).toBe('in_review');

    const approver = await (await browser.newContext()).newPage();
    approver.setDefaultTimeout(30_000);
    await logInInBrowser(approver, service.baseUrl, APPROVER);
    await approver.goto(`${service.baseUrl}/admin/editions/${id}`);
    await approver.getByRole('button', { name: 'Goedkeuren' }).click();
    await expect.poll(async () => (await editionRow()).status).toBe('approved');

    // Two minutes from now, as an editor in the Netherlands reads the clock.
    const sendAt = new Date(Math.ceil((Date.now() + 90_000) / 60_000) * 60_000);
    await approver.goto(`${service.baseUrl}/admin/editions/${id}`);
    await approver.getByLabel('Verzenden op (Nederlandse tijd)').fill(instantToAmsterdamLocal(sendAt));
    await approver.getByRole('button', { name: 'Inplannen' }).click();
    await expect.poll(async () => (await editionRow()).status).toBe('scheduled');
    expect((await editionRow()).send_at?.toISOString()).toBe(sendAt.toISOString());
    await expectAccessible(approver, 'scheduled');

    await waitUntil(async () => (await editionRow()).status === 'sent', 'the edition to be sent', 240_000);
    const { slug } = await editionRow();

    await approver.goto(`${service.baseUrl}/nieuwsbrieven`);
    await approver.getByRole('link', { name: TITLE }).click();
    expect(new URL(approver.url()).pathname).toBe(`/nieuwsbrieven/${slug}`);
    await expectAccessible(approver, 'web-version');

    const feed = await (await approver.request.get(`${service.baseUrl}/feed.xml`)).text();
    expect(feed).toContain(`/nieuwsbrieven/${slug}`);

    await waitUntil(
      async () => {
        await approver.goto(`${service.baseUrl}/dev/linkedin`);
        return (await approver.locator('main').textContent())?.includes(`/nieuwsbrieven/${slug}`) ?? false;
      },
      'the announcement in the LinkedIn dry-run feed',
      120_000,
    );
    await expectAccessible(approver, 'linkedin-dry-run');
  }, 600_000);
});
