import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentMachine, loadAverage } from '../../bench/report.js';
import { currentConsentText } from '../../src/domain/consent.js';
import { systemClock } from '../../src/providers/clock.js';
import { LinkTokens } from '../../src/providers/link-tokens.js';
import { Chaos } from '../fakes/chaos.js';
import { json, TEST_APP_SECRET, userWithToken } from '../helpers/context.js';
import { type ApiCaller, approvedEdition, seedSubscribers } from '../helpers/editions.js';
import { CRASH_KINDS, type CrashKind, FaultStack, type HttpAnswer, requestFrom, sleep } from './stack.js';

/**
 * Issue 8, the fault suite: the real service (API and worker processes, their own Postgres and
 * Redis) sends an edition to FAULT_RECIPIENTS addresses and publishes LinkedIn posts while
 * people sign up and confirm, and while the worker, the API, Redis and Postgres are killed with
 * SIGKILL at random moments and started again. The fake providers add latency spikes, 429s, 500s
 * and dropped connections. Afterwards nothing may be missing and nothing may have gone twice.
 *
 * Full size: `npm run test:faults` (20,000 recipients, 12 crashes). CI runs it smaller.
 * Environment: FAULT_RECIPIENTS, FAULT_CRASHES, FAULT_POSTS (6), FAULT_SEND_SECONDS (how long the
 * send takes at its pace without faults, 150: it sets RESEND_REQUESTS_PER_SECOND), FAULT_RESULTS
 * (where the figures go, bench/results/faults.json), FAULT_FINISH_TIMEOUT_MS (how long to wait for
 * everything to finish after the crashes, 10 minutes), FAULT_KEEP=1 (keep the stack 4 minutes at
 * the end, to look at it after a failure).
 */
const RECIPIENTS = Number(process.env.FAULT_RECIPIENTS ?? 20_000);
const CRASHES = Number(process.env.FAULT_CRASHES ?? 12);
const POSTS = Number(process.env.FAULT_POSTS ?? 6);
const WORKERS = 2;
/** How long the send would take at its pace without faults: the crashes are spread over it. */
const SEND_SECONDS = Number(process.env.FAULT_SEND_SECONDS ?? 150);
const RESULTS = process.env.FAULT_RESULTS ?? 'bench/results/faults.json';
const BATCHES = Math.ceil(RECIPIENTS / 100);
const RATE = Math.max(1, Math.floor(BATCHES / SEND_SECONDS));
const PLANNED_SEND_MS = (BATCHES / RATE) * 1000;
const SMALL_EDITION = 50;
const FINISH_TIMEOUT_MS = Number(process.env.FAULT_FINISH_TIMEOUT_MS ?? 10 * 60_000);

let stack: FaultStack;
let api: ApiCaller;

beforeAll(async () => {
  stack = await FaultStack.start({ workers: WORKERS, workerConcurrency: 4, resendRequestsPerSecond: RATE });
  const request = (pathname: string, init?: RequestInit) => fetch(`${stack.apiUrl}${pathname}`, init);
  api = { app: { request }, userWithToken: (role, email) => userWithToken(stack.db, role, email) };
}, 180_000);
afterAll(async () => {
  if (process.env.FAULT_KEEP === '1') {
    process.stdout.write(
      `fault suite: kept 4 minutes: API ${stack?.apiUrl}, Postgres ${stack?.databaseUrl}\n`,
    );
    await sleep(4 * 60_000);
  }
  await stack?.stop();
});

const is2xx = (status: number | null) => status !== null && status >= 200 && status < 300;

function random(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

/** Each kind in turn (so every kind at least once, and as often as the others), in random order. */
function crashPlan(count: number): CrashKind[] {
  const plan = Array.from(
    { length: Math.max(count, CRASH_KINDS.length) },
    (_, i) => CRASH_KINDS[i % CRASH_KINDS.length]!,
  );
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

/** Counts of the API's answers per endpoint and status (0: no answer). */
class AnswerTally {
  readonly counts: Record<string, Record<string, number>> = {};
  add(endpoint: string, answer: HttpAnswer): void {
    this.counts[endpoint] ??= {};
    const byStatus = this.counts[endpoint];
    byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
  }
  count(predicate: (status: number) => boolean): number {
    return Object.values(this.counts)
      .flatMap((byStatus) => Object.entries(byStatus))
      .filter(([status]) => predicate(Number(status)))
      .reduce((sum, [, n]) => sum + n, 0);
  }
}

interface Signup {
  email: string;
  status: number;
  /** Every second accepted signup is confirmed through the link in its email. */
  confirm: boolean;
  confirmStatus: number | null;
  /** Why the last confirmation got no answer, if it did not. */
  confirmError?: string;
}

/**
 * People signing up through the public form (JSON) and confirming through the link in their
 * email, each from an address of their own, while the crashes happen.
 */
class SignupTraffic {
  readonly signups: Signup[] = [];
  readonly answers = new AnswerTally();
  private running = true;
  private lanes: Promise<void>[] = [];
  private clients = 0;

  constructor(
    private readonly stack: FaultStack,
    private readonly consentVersion: string,
    private readonly formToken: string,
  ) {}

  start(lanes: number): void {
    for (let lane = 0; lane < lanes; lane++) this.lanes.push(this.signupLane(lane));
    this.lanes.push(this.confirmLane());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.lanes);
  }

  private nextClient(): string {
    const n = this.clients++;
    return `127.${10 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }

  private async signupLane(lane: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const email = `aanmelder-${lane}-${n}@voorbeeld.test`;
      const answer = await requestFrom(this.nextClient(), `${this.stack.apiUrl}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          email,
          name: `Aanmelder ${lane}-${n}`,
          topics: ['documenten'],
          locale: n % 3 === 0 ? 'en' : 'nl',
          consent: true,
          consentVersion: this.consentVersion,
          formToken: this.formToken,
        }),
      });
      this.answers.add('POST /subscribe', answer);
      if (is2xx(answer.status)) {
        const accepted = this.signups.filter((s) => is2xx(s.status)).length;
        this.signups.push({ email, status: answer.status, confirm: accepted % 2 === 0, confirmStatus: null });
      } else {
        this.signups.push({ email, status: answer.status, confirm: false, confirmStatus: null });
      }
      await sleep(random(100, 300));
    }
  }

  /** Signups to confirm that have not been confirmed with a 2xx yet. */
  unconfirmed(): Signup[] {
    return this.signups.filter((s) => is2xx(s.status) && s.confirm && !is2xx(s.confirmStatus));
  }

  /** Confirms, again and again until it answers 2xx, every signup chosen for it whose email came. */
  async confirmLane(until: () => boolean = () => !this.running): Promise<void> {
    while (!until()) {
      for (const signup of this.unconfirmed()) {
        const link = confirmationLink(this.stack, signup.email);
        if (!link) continue;
        const answer = await requestFrom(this.nextClient(), link, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        });
        this.answers.add('POST /confirm/{token}', answer);
        signup.confirmStatus = answer.status;
        if (answer.status === 0) signup.confirmError = answer.body;
      }
      await sleep(300);
    }
  }
}

function emailsTo(stack: FaultStack, address: string, kind?: string) {
  return stack.resend.emails.filter(
    (email) =>
      email.to[0] === address && (kind === undefined || email.tags?.some((tag) => tag.value === kind)),
  );
}

function confirmationLink(stack: FaultStack, address: string): string | null {
  const email = emailsTo(stack, address, 'confirmation')[0];
  const match = /\/confirm\/([\w.~-]+)/.exec(email?.text ?? '');
  return match ? `${stack.apiUrl}/confirm/${match[1]}` : null;
}

function waitFor(
  what: string,
  probe: () => Promise<boolean> | boolean,
  explain: () => Promise<unknown> | unknown = () => '',
) {
  return stack.waitFor(what, probe, { timeoutMs: FINISH_TIMEOUT_MS, explain });
}

const editionStatus = (id: string) => stack.editionStatus(id);

/** How many messages each address got, among the recorded emails to addresses with this prefix. */
function perAddress(prefix: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const email of stack.resend.emails) {
    const to = email.to[0]!;
    if (to.startsWith(prefix)) counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

function exactlyOnce(prefix: string, expected: number) {
  const counts = perAddress(prefix);
  const messages = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return {
    recipients: expected,
    messages,
    duplicates: [...counts.values()].filter((n) => n > 1).length,
    missing: expected - counts.size,
  };
}

describe('the service under crashes and provider faults', () => {
  it(
    `sends ${RECIPIENTS} messages and ${POSTS} posts exactly once, and loses no signup, across ${CRASHES} crashes`,
    async () => {
      const started = Date.now();
      await seedSubscribers(stack.db, RECIPIENTS, { prefix: 'fout' });
      await seedSubscribers(stack.db, SMALL_EDITION, { prefix: 'artikel', topic: 'artikelen' });
      const editor = (await api.userWithToken('editor')).headers;
      const admin = (await api.userWithToken('admin')).headers;
      const call = async (pathname: string, init: RequestInit, expected = 200) => {
        const response = await api.app.request(pathname, init);
        expect(response.status, `${pathname}: ${await response.clone().text()}`).toBe(expected);
        return response.json();
      };
      // Announcements of sent editions go out at once, with the default image as their thumbnail.
      await call(
        '/api/v1/linkedin/settings',
        json({ defaultImageUrl: `${stack.linkedin.url}/image.png` }, admin, 'PATCH'),
      );

      const t0 = Date.now();
      const at = (ms: number) => new Date(t0 + ms).toISOString();
      const big = await approvedEdition(api, { subject: 'Nieuws onder storingen', topics: ['nieuwsbrief'] });
      await call(`/api/v1/editions/${big}/schedule`, json({ sendAt: at(5_000) }, editor));
      const small = await approvedEdition(api, {
        subject: 'Artikelen onder storingen',
        topics: ['artikelen'],
      });
      await call(`/api/v1/editions/${small}/schedule`, json({ sendAt: at(PLANNED_SEND_MS / 2) }, editor));
      const posts: { id: string; link: string }[] = [];
      for (let i = 0; i < POSTS; i++) {
        const link = `https://voorbeeld.test/storing/${i}`;
        const { id } = await call(
          '/api/v1/linkedin/posts',
          json(
            {
              kind: 'article',
              commentary: `Bericht ${i} onder storingen (#storingstest)`,
              link,
              title: `Bericht ${i}`,
              description: 'Storingstest',
              imageUrl: `${stack.linkedin.url}/image.png`,
            },
            editor,
          ),
          201,
        );
        const when = at(5_000 + ((i + 0.5) * PLANNED_SEND_MS) / POSTS);
        await call(`/api/v1/linkedin/posts/${id}/schedule`, json({ scheduledAt: when }, editor));
        posts.push({ id, link });
      }

      stack.resend.keepBatchBodies = false;
      const resendChaos = new Chaos({
        faultRate: 0.08,
        faults: ['rate-limited', 'server-error', 'dropped', 'dropped-after-work'],
        spikeRate: 0.05,
        spikeMs: [500, 3_000],
      });
      // LinkedIn's 429 means "until midnight UTC": it is injected once, deliberately, below.
      const linkedinChaos = new Chaos({
        faultRate: 0.06,
        faults: ['server-error', 'server-error-after-work', 'dropped', 'dropped-after-work'],
        spikeRate: 0.05,
        spikeMs: [500, 3_000],
      });
      stack.resend.chaos = resendChaos;
      stack.linkedin.chaos = linkedinChaos;
      const formToken = new LinkTokens([TEST_APP_SECRET], systemClock).issue(
        { p: 'form' },
        3_600,
        new Date(Date.now() - 60_000),
      );
      const traffic = new SignupTraffic(stack, (await currentConsentText(stack.db)).version, formToken);
      traffic.start(2);

      // The crashes, spread over the planned duration of the send, each at a random moment of its slot.
      const plan = crashPlan(CRASHES);
      const slotMs = Math.max(2_000, (PLANNED_SEND_MS + 5_000) / plan.length);
      const crashes: {
        kind: CrashKind;
        atMs: number;
        outageMs: number;
        recoveredAfterMs: number;
        /** The big edition's status when the crash came. */
        editionStatus: string;
        postsOpen: number;
      }[] = [];
      // The first image check of the first post gets LinkedIn's 429: that post must wait for midnight UTC.
      stack.linkedin.inject('GET /rest/images/', {
        status: 429,
        body: { status: 429, message: 'Daily application limit reached' },
      });
      for (const [index, kind] of plan.entries()) {
        await sleep(random(300, slotMs));
        const statusBefore = await editionStatus(big);
        const open = await stack.db
          .selectFrom('linkedin_posts')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('status', 'in', ['draft', 'scheduled', 'publishing'])
          .executeTakeFirstOrThrow();
        const outageMs = kind === 'redis' || kind === 'postgres' ? Math.round(random(200, 2_000)) : 0;
        const crashedAt = Date.now();
        process.stdout.write(
          `fault suite: crash ${index + 1}/${plan.length}: ${kind} at ${crashedAt - t0} ms\n`,
        );
        await stack.crash(kind, index, outageMs);
        await stack.waitHealthy();
        crashes.push({
          kind,
          atMs: crashedAt - t0,
          outageMs,
          recoveredAfterMs: Date.now() - crashedAt,
          editionStatus: statusBefore,
          postsOpen: Number(open.n),
        });
      }
      await traffic.stop();
      const chaosEndedMs = Date.now() - t0;

      // Everything that was started must finish, however long the sweeps take to find lost jobs.
      await waitFor(
        'both editions to be sent',
        async () =>
          (await Promise.all([editionStatus(big), editionStatus(small)])).every((s) => s === 'sent'),
        () =>
          stack.db
            .selectFrom('delivery_batches')
            .select(['edition_id', 'batch_no', 'status', 'attempts', 'last_attempt_at', 'last_error'])
            .where('status', '!=', 'sent')
            .execute(),
      );
      const settled = async () => {
        const rows = await stack.db.selectFrom('linkedin_posts').select(['status', 'retry_at']).execute();
        return rows.every(
          (p) =>
            p.status === 'published' ||
            p.status === 'failed' ||
            (p.status === 'scheduled' &&
              p.retry_at !== null &&
              p.retry_at.getTime() > Date.now() + 3_600_000),
        );
      };
      await waitFor('every LinkedIn post to be published (or deferred by the 429)', settled, () =>
        stack.db.selectFrom('linkedin_posts').select(['id', 'status', 'lease_until', 'updated_at']).execute(),
      );
      const accepted = traffic.signups.filter((s) => is2xx(s.status));
      const withoutConfirmation = () => accepted.filter((s) => confirmationLink(stack, s.email) === null);
      await waitFor(
        'a confirmation email for every accepted signup',
        () => withoutConfirmation().length === 0,
        withoutConfirmation,
      );
      const confirmDeadline = Date.now() + FINISH_TIMEOUT_MS;
      await traffic.confirmLane(() => traffic.unconfirmed().length === 0 || Date.now() > confirmDeadline);
      const confirmed = accepted.filter((s) => is2xx(s.confirmStatus));
      const withoutWelcome = () => confirmed.filter((s) => emailsTo(stack, s.email, 'welcome').length === 0);
      await waitFor(
        'a welcome email for every confirmed signup',
        () => withoutWelcome().length === 0,
        withoutWelcome,
      );
      // Late duplicates would come from retries still running: give them the time to show up.
      await sleep(5_000);
      const durationMs = Date.now() - started;

      // The figures.
      const bigFigures = exactlyOnce('fout-', RECIPIENTS);
      const smallFigures = exactlyOnce('artikel-', SMALL_EDITION);
      const deliveries = await sql<{ edition_id: string; sent: string; ids: string }>`
      select edition_id, count(*) filter (where status = 'sent') as sent,
             count(distinct provider_message_id) as ids
        from deliveries group by edition_id`.execute(stack.db);
      const sentInDb = (id: string) => Number(deliveries.rows.find((r) => r.edition_id === id)?.sent ?? 0);

      const rows = await stack.db.selectFrom('linkedin_posts').selectAll().orderBy('id').execute();
      const onLinkedIn = (link: string) =>
        [...stack.linkedin.posts.values()].filter((p) => p.content.article.source === link);
      const linkedinRows = rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        status: row.status,
        deferredUntil: row.status === 'scheduled' ? (row.retry_at?.toISOString() ?? null) : null,
        copies: onLinkedIn(row.link).length,
        urnMatches: row.post_urn !== null && onLinkedIn(row.link)[0]?.id === row.post_urn,
      }));
      const announcements = rows.filter((row) => row.edition_id !== null).map((row) => row.edition_id);
      const deferred = linkedinRows.filter((p) => p.deferredUntil !== null);
      const published = linkedinRows.filter((p) => p.status === 'published');

      const stored = await stack.db
        .selectFrom('subscribers')
        .leftJoin('consent_events as given', (join) =>
          join.onRef('given.subscriber_id', '=', 'subscribers.id').on('given.kind', '=', 'given'),
        )
        .leftJoin('consent_events as confirmation', (join) =>
          join
            .onRef('confirmation.subscriber_id', '=', 'subscribers.id')
            .on('confirmation.kind', '=', 'confirmed'),
        )
        .select([
          'subscribers.email',
          'subscribers.status',
          'given.id as given',
          'confirmation.id as confirmed',
        ])
        .where('subscribers.email', 'like', 'aanmelder-%')
        .execute();
      const byEmail = new Map(stored.map((row) => [row.email, row]));
      const signupLosses = {
        subscribersMissing: accepted.filter((s) => !byEmail.get(s.email)).length,
        consentGivenMissing: accepted.filter((s) => !byEmail.get(s.email)?.given).length,
        confirmedNotActive: confirmed.filter((s) => byEmail.get(s.email)?.status !== 'active').length,
        consentConfirmedMissing: confirmed.filter((s) => !byEmail.get(s.email)?.confirmed).length,
      };
      const confirmationsTwice = accepted.filter(
        (s) => emailsTo(stack, s.email, 'confirmation').length > 1,
      ).length;
      const welcomesTwice = confirmed.filter((s) => emailsTo(stack, s.email, 'welcome').length > 1).length;

      const figures = {
        at: new Date().toISOString(),
        machine: currentMachine(),
        loadAverage: loadAverage(),
        size: {
          recipients: RECIPIENTS,
          crashesPlanned: CRASHES,
          posts: POSTS,
          workers: WORKERS,
          resendRequestsPerSecond: RATE,
        },
        durationSeconds: Math.round(durationMs / 1000),
        chaosSeconds: Math.round(chaosEndedMs / 1000),
        crashes: {
          total: crashes.length,
          byKind: Object.fromEntries(
            CRASH_KINDS.map((kind) => [kind, crashes.filter((c) => c.kind === kind).length]),
          ),
          duringTheSend: crashes.filter((c) => c.editionStatus === 'sending').length,
          whilePostsOpen: crashes.filter((c) => c.postsOpen > 0).length,
          list: crashes,
        },
        injectedByFakes: { resend: resendChaos.injected, linkedin: linkedinChaos.injected },
        providerRequests: { resend: stack.resend.requests.length, linkedin: stack.linkedin.requests.length },
        edition: { ...bigFigures, recordedSentInDb: sentInDb(big) },
        scheduledEdition: { ...smallFigures, recordedSentInDb: sentInDb(small) },
        linkedin: {
          posts: linkedinRows.length,
          published: published.length,
          deferredBy429: deferred.length,
          failed: linkedinRows.filter((p) => p.status === 'failed').length,
          duplicates: linkedinRows.filter((p) => p.copies > 1).length,
          missing: published.filter((p) => p.copies === 0).length,
          postsOnFake: stack.linkedin.posts.size,
          editionAnnouncements: announcements.length,
          rows: linkedinRows,
        },
        signups: {
          attempted: traffic.signups.length,
          accepted: accepted.length,
          confirmed: confirmed.length,
          ...signupLosses,
          confirmationNever2xx: traffic
            .unconfirmed()
            .map((s) => ({ email: s.email, status: s.confirmStatus, error: s.confirmError })),
          confirmationEmailsTwice: confirmationsTwice,
          welcomeEmailsTwice: welcomesTwice,
        },
        apiAnswers: traffic.answers.counts,
        api5xx: {
          total: traffic.answers.count((s) => s >= 500),
          other500: traffic.answers.count((s) => s === 500),
        },
      };
      await mkdir(path.dirname(path.resolve(RESULTS)), { recursive: true });
      await writeFile(path.resolve(RESULTS), `${JSON.stringify(figures, null, 2)}\n`);
      process.stdout.write(
        `fault suite: ${crashes.length} crashes (${CRASH_KINDS.map((k) => `${k} ${figures.crashes.byKind[k]}`).join(', ')}), ` +
          `${figures.crashes.duringTheSend} during the send, in ${figures.durationSeconds} s; ` +
          `edition: ${bigFigures.messages} messages for ${RECIPIENTS} recipients, ${bigFigures.duplicates} duplicates, ${bigFigures.missing} missing; ` +
          `scheduled edition: ${smallFigures.duplicates} duplicates, ${smallFigures.missing} missing; ` +
          `LinkedIn: ${published.length} published, ${deferred.length} deferred by 429, ${figures.linkedin.duplicates} duplicates, ${figures.linkedin.missing} missing; ` +
          `signups: ${accepted.length} accepted, ${confirmed.length} confirmed, losses ${JSON.stringify(signupLosses)}; ` +
          `API 5xx: ${figures.api5xx.total}; injected: ${JSON.stringify(figures.injectedByFakes)} → ${RESULTS}\n`,
      );

      expect(crashes.length).toBeGreaterThanOrEqual(Math.max(CRASHES, CRASH_KINDS.length));
      for (const kind of CRASH_KINDS) expect(figures.crashes.byKind[kind], kind).toBeGreaterThan(0);
      expect(bigFigures).toEqual({ recipients: RECIPIENTS, messages: RECIPIENTS, duplicates: 0, missing: 0 });
      expect(sentInDb(big)).toBe(RECIPIENTS);
      expect(smallFigures).toEqual({
        recipients: SMALL_EDITION,
        messages: SMALL_EDITION,
        duplicates: 0,
        missing: 0,
      });
      expect(sentInDb(small)).toBe(SMALL_EDITION);
      // Every post of ours and both announcements: published exactly once, or waiting for midnight UTC untouched.
      expect(announcements.sort()).toEqual([big, small].sort());
      expect(linkedinRows.length).toBe(POSTS + 2);
      // Exactly the one post that got the 429 waits, for midnight UTC, untouched on LinkedIn.
      expect(deferred).toHaveLength(1);
      expect(deferred[0]!.deferredUntil).toMatch(/T00:00:00\.000Z$/);
      for (const row of linkedinRows) {
        if (row.deferredUntil) expect(row.copies, `post ${row.id}`).toBe(0);
        else
          expect(row, `post ${row.id}`).toMatchObject({ status: 'published', copies: 1, urnMatches: true });
      }
      expect(stack.linkedin.posts.size).toBe(published.length);
      expect(accepted.length).toBeGreaterThan(0);
      expect(signupLosses).toEqual({
        subscribersMissing: 0,
        consentGivenMissing: 0,
        confirmedNotActive: 0,
        consentConfirmedMissing: 0,
      });
      expect(figures.signups.confirmationNever2xx).toEqual([]);
      expect(confirmationsTwice).toBe(0);
      expect(welcomesTwice).toBe(0);
      // A dependency that is down is answered with 503; never with a bare 500.
      expect(figures.api5xx.other500).toBe(0);
    },
    60 * 60_000,
  );
});
