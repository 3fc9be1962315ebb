import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Role } from '../../src/db/schema.js';
import { createUser } from '../../src/domain/users.js';
import { findExecutable, installDebianPackage, isRoot } from '../../src/infra/child-process.js';
import { TEST_APP_SECRET, TEST_PASSWORD, type TestContext } from './context.js';
import { childEnv, freePort, getStatus, type RunningProcess, startScript, waitUntil } from './process.js';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve('test-artifacts/screenshots');

/**
 * Debian's Chromium, installed with apt when it is missing and we may (root), as the project
 * promises that `npm test` needs nothing done by hand. CHROMIUM_PATH points elsewhere if wanted.
 */
export async function chromiumExecutable(): Promise<string> {
  const wanted = process.env.CHROMIUM_PATH ?? SYSTEM_CHROMIUM;
  if (existsSync(wanted)) return wanted;
  const apt = findExecutable('apt-get');
  if (!isRoot() || !apt) {
    throw new Error(
      `Chromium is not installed at ${wanted} and this user cannot install it. ` +
        'Run `apt-get install chromium` as root, or set CHROMIUM_PATH.',
    );
  }
  await installDebianPackage(apt, 'chromium', pino({ level: 'warn' }));
  if (!existsSync(wanted)) throw new Error(`apt-get installed chromium, but ${wanted} does not exist`);
  return wanted;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumExecutable(),
    // Chromium's own sandbox refuses to run as root, which CI machines are.
    args: isRoot() ? ['--no-sandbox'] : [],
  });
}

export interface RunningService {
  baseUrl: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/**
 * The real service (`npm start`'s process: API, relay, workers) on the test context's database
 * and Redis, with the dev mailbox and the LinkedIn dry run, as a newcomer would run it.
 */
export async function startService(ctx: TestContext): Promise<RunningService> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'thuispost-browser-'));
  const service = startScript(
    'src/server.ts',
    [],
    childEnv({
      PORT: String(port),
      PUBLIC_BASE_URL: baseUrl,
      DATABASE_URL: ctx.databaseUrl,
      REDIS_URL: ctx.redisUrl,
      REDIS_PREFIX: `${ctx.redisPrefix}-browser`.slice(-40),
      APP_SECRET: TEST_APP_SECRET,
      DATA_DIR: dataDir,
    }),
  );
  let exited = false;
  void service.exited.then(() => {
    exited = true;
  });
  try {
    await waitUntil(
      async () => {
        if (exited) throw new Error('the service exited');
        return (await getStatus(`${baseUrl}/readyz`)) === 200;
      },
      'the service to be ready',
      90_000,
    );
  } catch (error) {
    service.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${service.stderr()}\n${service.stdout()}`);
  }
  return {
    baseUrl,
    process: service,
    async stop() {
      service.child.kill('SIGTERM');
      await service.exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function createStaffUser(ctx: TestContext, role: Role, email: string, name: string) {
  return createUser(ctx.db, { email, name, role, password: TEST_PASSWORD });
}

export async function logInInBrowser(page: Page, baseUrl: string, email: string): Promise<void> {
  await page.goto(`${baseUrl}/admin/login`);
  await page.getByLabel('E-mailadres').fill(email);
  await page.getByLabel('Wachtwoord').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Inloggen' }).click();
  await page.waitForURL(`${baseUrl}/admin`);
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; html: string }[];
}

/**
 * axe-core's WCAG 2.x A/AA rules on the current page, in light and in dark colour scheme.
 * Injected through the DevTools protocol, so our strict CSP stays on and is tested too.
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  const found: AxeViolation[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.evaluate(await axeSource);
    const result = await page.evaluate(async (scheme) => {
      const axe = (globalThis as unknown as { axe: { run: (...args: unknown[]) => Promise<unknown> } }).axe;
      return axe.run(
        document,
        // In the dark scheme only colours change, so contrast is all there is left to check.
        scheme === 'dark'
          ? { runOnly: { type: 'rule', values: ['color-contrast'] } }
          : { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } },
      );
    }, colorScheme);
    const { violations, passes } = result as { violations: AxeViolation[]; passes: unknown[] };
    // An axe that checked nothing would report no violations too.
    if (passes.length === 0) throw new Error(`axe checked no rules on ${page.url()}`);
    for (const violation of violations) {
      found.push({
        ...violation,
        help: `${violation.help} (${colorScheme})`,
        nodes: violation.nodes.map((n) => ({ target: n.target, html: n.html })),
      });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/** Kept as test artifacts (test-artifacts/screenshots), for people to look at after a run. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
