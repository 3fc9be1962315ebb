/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../../api/deps.js';
import type { LinkedInPostKind } from '../../db/schema.js';
import { type RecentSend, recentSends, upcomingEditions, upcomingPosts } from '../../domain/dashboard.js';
import { type LinkedInHealth, linkedinHealth, postsNeedingAction } from '../../domain/linkedin.js';
import { checkSenderHealth, type SenderHealth } from '../../domain/sender-health.js';
import { roleAtLeast } from '../../domain/users.js';
import { linkedinHealthConfig } from '../../infra/linkedin-config.js';
import { queueJobCounts } from '../../jobs/queues.js';
import { cachedSenderDomains, type SenderDomains } from '../../providers/sender-domains.js';
import { adminArea } from './area.js';
import { SendProgress, StatusBadge } from './editions.js';
import { STATUS_LABELS as POST_STATUS_LABELS } from './posts.js';
import { AdminPage, formatDateTime, numberFormat, ROLE_LABELS, TableRegion } from './ui.js';

/** How long the overview waits for Resend or Redis before it says they did not answer. */
const ANSWER_WITHIN_MS = 3_000;
/** A verified domain stays verified; the overview asks Resend again after this long. */
const DOMAIN_LOOKUP_TTL_MS = 5 * 60 * 1000;
const QUEUE_STATES = ['waiting', 'active', 'failed', 'delayed'] as const;
/** How many of the LinkedIn posts that wait for a person the overview lists by name. */
const WAITING_POSTS_SHOWN = 10;

type Timed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The answer, or why there is none: an error or no answer in time (the overview never hangs on one). */
async function within<T>(work: Promise<T>, ms = ANSWER_WITHIN_MS): Promise<Timed<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Timed<T>>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `geen antwoord binnen ${ms / 1000} seconden` }),
      ms,
    );
  });
  try {
    return await Promise.race([work.then((value) => ({ ok: true as const, value })), late]);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** One remembering wrapper per provider client, so every overview shares its lookups. */
const domainLookups = new WeakMap<SenderDomains, SenderDomains>();

function senderHealth(deps: AppDeps, now: Date): Promise<Timed<SenderHealth>> {
  let senderDomains = deps.senderDomains;
  if (senderDomains) {
    const inner = senderDomains;
    senderDomains =
      domainLookups.get(inner) ??
      cachedSenderDomains(inner, DOMAIN_LOOKUP_TTL_MS, () => deps.clock.now().getTime());
    domainLookups.set(inner, senderDomains);
  }
  return within(
    checkSenderHealth(deps.db, {
      mailerKind: deps.config.mailerKind,
      emailFrom: deps.config.emailFrom,
      senderDomains,
      now,
    }),
  );
}

type QueueRow = { queue: string; counts: Record<(typeof QUEUE_STATES)[number], number> };

function queueHealth(deps: AppDeps): Promise<Timed<QueueRow[]>> | null {
  return deps.queues ? within(queueJobCounts(deps.queues, QUEUE_STATES)) : null;
}

const POST_KINDS: Record<LinkedInPostKind, string> = {
  edition: 'editie',
  article: 'artikel',
  document: 'document',
  custom: 'eigen bericht',
};

const LINKEDIN_MODES: Record<LinkedInHealth['mode'], string> = {
  'dry-run': 'Niet gekoppeld: berichten gaan naar het proefvoer in plaats van naar LinkedIn.',
  environment: 'Gekoppeld via LINKEDIN_ACCESS_TOKEN.',
  connected: 'Gekoppeld.',
  broken: 'De koppeling werkt niet meer: berichten wachten tot iemand opnieuw koppelt.',
};

/** Everything that wants attention, gathered at the top of the page. */
function attentionPoints(
  sends: RecentSend[],
  linkedin: LinkedInHealth,
  sender: Timed<SenderHealth>,
  queues: Timed<QueueRow[]> | null,
): string[] {
  const points: string[] = [];
  for (const send of sends.filter((s) => s.status === 'paused')) {
    points.push(
      `Het verzenden van "${send.title}" is gepauzeerd${send.pausedReason ? `: ${send.pausedReason}` : ''}.`,
    );
  }
  if (sender.ok) points.push(...sender.value.warnings.map((w) => w.messageNl));
  else points.push(`De verzendgezondheid kon niet worden bepaald (${sender.reason}).`);
  points.push(...linkedin.warnings);
  if (queues && !queues.ok) points.push(`De wachtrijen antwoorden niet (${queues.reason}).`);
  if (queues?.ok) {
    for (const row of queues.value.filter((r) => r.counts.failed > 0)) {
      points.push(`Wachtrij ${row.queue}: ${numberFormat.format(row.counts.failed)} mislukte taken.`);
    }
  }
  return points;
}

function SenderSection(props: { health: Timed<SenderHealth> }) {
  if (!props.health.ok) {
    return <p>Kon niet worden gecontroleerd: {props.health.reason}.</p>;
  }
  const { value: health } = props.health;
  const percent = (rate: number | null) =>
    rate === null ? '—' : `${(rate * 100).toLocaleString('nl-NL', { maximumFractionDigits: 2 })} %`;
  return (
    <>
      <p>
        <span class="badge">{health.ok ? 'In orde' : 'Let op'}</span> {health.messageNl}
      </p>
      {health.domain?.unverifiedRecords.length ? (
        <ul>
          {health.domain.unverifiedRecords.map((r) => (
            <li key={`${r.record}-${r.type}-${r.name}`}>
              {r.record} {r.type} {r.name}: {r.status}
            </li>
          ))}
        </ul>
      ) : null}
      {health.recent.editions.length === 0 ? (
        <p>Nog geen verzonden edities om bounces en klachten over te tellen.</p>
      ) : (
        <p>
          Laatste {health.recent.editions.length} edities: {numberFormat.format(health.recent.sent)}{' '}
          verzonden, harde bounces {percent(health.recent.bounceRate)}, klachten{' '}
          {percent(health.recent.complaintRate)} (grens 0,1 %).
        </p>
      )}
    </>
  );
}

type WaitingPost = Awaited<ReturnType<typeof postsNeedingAction>>[number];

function LinkedInSection(props: { health: LinkedInHealth; waiting: WaitingPost[]; admin: boolean }) {
  const { health, waiting } = props;
  return (
    <>
      <p>
        <span class="badge">{health.warnings.length === 0 ? 'In orde' : 'Let op'}</span>{' '}
        {LINKEDIN_MODES[health.mode]}
      </p>
      <ul>
        {health.organizationName || health.organizationId ? (
          <li>Organisatie: {health.organizationName ?? health.organizationId}</li>
        ) : null}
        {health.accessTokenExpiresAt ? (
          <li>
            Toegangstoken verloopt op {formatDateTime(new Date(health.accessTokenExpiresAt))}
            {health.daysLeft !== null
              ? ` (over ${health.daysLeft} ${health.daysLeft === 1 ? 'dag' : 'dagen'})`
              : ''}
          </li>
        ) : null}
        <li>
          API-versie {health.version}
          {health.versionAgeMonths > 0 ? ` (${health.versionAgeMonths} maanden oud)` : ''}
        </li>
        <li>
          Wachtend op de koppeling: {health.heldPosts}; mislukt: {health.failedPosts}; concepten:{' '}
          {health.draftPosts}
        </li>
      </ul>
      {waiting.length > 0 ? (
        <>
          <h3>Berichten die op iemand wachten</h3>
          <ul>
            {waiting.map((post) => (
              <li key={post.id}>
                <a href={`/admin/posts/${post.id}`}>{post.title}</a> ({POST_KINDS[post.kind]}):{' '}
                {POST_STATUS_LABELS[post.status]}
                {post.last_error ? `. ${post.last_error}` : ''}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {props.admin ? (
        <p>
          <a href="/admin/linkedin">LinkedIn-koppeling beheren</a>
        </p>
      ) : null}
    </>
  );
}

function QueueSection(props: { health: Timed<QueueRow[]> | null; admin: boolean }) {
  const { health } = props;
  if (!health) return <p>Dit proces heeft geen wachtrijen (bijvoorbeeld op Cloudflare Workers).</p>;
  if (!health.ok) return <p>Redis antwoordt niet: {health.reason}.</p>;
  return (
    <>
      <TableRegion label="Wachtrijen">
        <table>
          <thead>
            <tr>
              <th scope="col">Wachtrij</th>
              <th scope="col">Wachtend</th>
              <th scope="col">Bezig</th>
              <th scope="col">Mislukt</th>
              <th scope="col">Uitgesteld</th>
            </tr>
          </thead>
          <tbody>
            {health.value.map((row) => (
              <tr key={row.queue}>
                <th scope="row">{row.queue}</th>
                <td>{numberFormat.format(row.counts.waiting)}</td>
                <td>{numberFormat.format(row.counts.active)}</td>
                <td>{numberFormat.format(row.counts.failed)}</td>
                <td>{numberFormat.format(row.counts.delayed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {props.admin ? (
        <p>
          <a href="/admin/queues">Naar de wachtrijmonitor</a>
        </p>
      ) : null}
    </>
  );
}

function RecentSendsTable(props: { sends: RecentSend[] }) {
  if (props.sends.length === 0) return <p>Nog niets verzonden.</p>;
  return (
    <TableRegion label="Laatste verzendingen">
      <table>
        <thead>
          <tr>
            <th scope="col">Editie</th>
            <th scope="col">Status</th>
            <th scope="col">Begonnen</th>
            <th scope="col">Ontvangers</th>
            <th scope="col">Verzonden</th>
            <th scope="col">Afgeleverd</th>
            <th scope="col">Gebounced</th>
            <th scope="col">Klachten</th>
            <th scope="col">Mislukt</th>
          </tr>
        </thead>
        <tbody>
          {props.sends.map((send) => (
            <tr key={send.id}>
              <td>
                <a href={`/admin/editions/${send.id}/stats`}>{send.title}</a>
              </td>
              <td>
                <StatusBadge status={send.status} />
              </td>
              <td>{formatDateTime(send.startedAt)}</td>
              <td>{numberFormat.format(send.summary.recipients)}</td>
              <td>{numberFormat.format(send.summary.sent)}</td>
              <td>{numberFormat.format(send.summary.delivered)}</td>
              <td>{numberFormat.format(send.summary.bounced)}</td>
              <td>{numberFormat.format(send.summary.complained)}</td>
              <td>{numberFormat.format(send.summary.failed)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}

async function overview(c: Context<AppEnv>) {
  const deps = c.var.deps;
  const principal = c.var.principal!;
  const now = deps.clock.now();
  const admin = roleAtLeast(principal.role, 'admin');
  const [editions, posts, waitingPosts, sends, linkedin, sender, queues] = await Promise.all([
    upcomingEditions(deps.db, 10),
    upcomingPosts(deps.db, 10),
    postsNeedingAction(deps.db, WAITING_POSTS_SHOWN),
    recentSends(deps.db, 8),
    linkedinHealth(deps.db, linkedinHealthConfig(deps.linkedin), now),
    senderHealth(deps, now),
    queueHealth(deps),
  ]);
  const underWay = sends.filter((s) => s.status === 'sending' || s.status === 'paused');
  const attention = attentionPoints(sends, linkedin, sender, queues);
  return (
    <AdminPage c={c} title="Overzicht">
      <p>
        Ingelogd als {principal.user.name || principal.user.email} ({ROLE_LABELS[principal.role]}).
      </p>
      <ul class="actions" aria-label="Snel naar">
        {roleAtLeast(principal.role, 'editor') ? (
          <li style="list-style: none">
            <a href="/admin/editions/new">Nieuwe editie</a>
          </li>
        ) : null}
        <li style="list-style: none">
          <a href="/admin/editions">Edities</a>
        </li>
        <li style="list-style: none">
          <a href="/admin/posts">LinkedIn-berichten</a>
        </li>
        <li style="list-style: none">
          <a href="/admin/subscribers">Abonnees</a>
        </li>
      </ul>

      {attention.length > 0 ? (
        <section class="warning" aria-labelledby="aandacht">
          <h2 id="aandacht">Aandacht nodig</h2>
          <ul>
            {attention.map((point) => (
              <li key={point}>{point}</li>
            ))}
          </ul>
        </section>
      ) : null}

      {underWay.length > 0 ? (
        <section aria-labelledby="onderweg">
          <h2 id="onderweg">Wordt nu verzonden</h2>
          {underWay.map((send) => (
            <div key={send.id}>
              <h3>
                <a href={`/admin/editions/${send.id}`}>{send.title}</a> <StatusBadge status={send.status} />
              </h3>
              <SendProgress
                id={send.id}
                processed={send.summary.recipients - send.summary.queued}
                total={send.summary.recipients}
                sent={send.summary.sent}
              />
            </div>
          ))}
        </section>
      ) : null}

      <div class="cards">
        <section aria-labelledby="gepland-edities">
          <h2 id="gepland-edities">Ingeplande edities</h2>
          {editions.length === 0 ? (
            <p>Geen edities ingepland.</p>
          ) : (
            <ul>
              {editions.map((e) => (
                <li key={e.id}>
                  {formatDateTime(e.send_at)}: <a href={`/admin/editions/${e.id}`}>{e.title}</a>
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="gepland-berichten">
          <h2 id="gepland-berichten">Ingeplande LinkedIn-berichten</h2>
          {posts.length === 0 ? (
            <p>Geen berichten ingepland.</p>
          ) : (
            <ul>
              {posts.map((p) => (
                <li key={p.id}>
                  {formatDateTime(p.scheduled_at)}: <a href={`/admin/posts/${p.id}`}>{p.title}</a> (
                  {POST_KINDS[p.kind] ?? p.kind})
                </li>
              ))}
            </ul>
          )}
          <p>
            <a href="/admin/posts">Alle LinkedIn-berichten</a>
          </p>
        </section>
      </div>

      <section aria-labelledby="laatste">
        <h2 id="laatste">Laatste verzendingen</h2>
        <RecentSendsTable sends={sends} />
      </section>

      <div class="cards">
        <section aria-labelledby="gezondheid-email">
          <h2 id="gezondheid-email">E-mail verzenden</h2>
          <SenderSection health={sender} />
        </section>
        <section aria-labelledby="gezondheid-linkedin">
          <h2 id="gezondheid-linkedin">LinkedIn</h2>
          <LinkedInSection health={linkedin} waiting={waitingPosts} admin={admin} />
        </section>
        <section aria-labelledby="gezondheid-wachtrijen">
          <h2 id="gezondheid-wachtrijen">Wachtrijen</h2>
          <QueueSection health={queues} admin={admin} />
        </section>
      </div>
    </AdminPage>
  );
}

/** /admin: what needs attention — upcoming sends and posts, sends under way and the last ones, health. */
export function dashboardPages() {
  const app = adminArea('viewer');
  app.get('/', async (c) => c.html(await overview(c)));
  return app;
}
