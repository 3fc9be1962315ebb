/** @jsxImportSource hono/jsx */

import { Hono } from 'hono';
import type { AppEnv } from '../api/deps.js';
import { requireRole } from '../api/middleware/auth.js';
import { DEFAULT_LINKEDIN_VERSION } from '../config.js';
import { DomainError } from '../domain/errors.js';
import {
  activateConnection,
  consumeOAuthState,
  createOAuthState,
  currentConnection,
  disconnect,
  linkedinHealth,
  pendingConnection,
  storePendingConnection,
} from '../domain/linkedin.js';
import {
  authorizationUrl,
  exchangeCode,
  LinkedInError,
  listAdministeredOrganizations,
} from '../providers/linkedin.js';
import { Layout } from './layout.js';

function Nav() {
  return (
    <nav aria-label="Beheer">
      <a href="/admin">Overzicht</a>
      <a href="/admin/linkedin">LinkedIn</a>
      <a href="/dev/linkedin">LinkedIn-proefvoer</a>
      <a href="/dev/mailbox">Mailbox</a>
    </nav>
  );
}

const adminOnly: import('hono').MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.principal) return c.redirect('/admin/login', 303);
  return requireRole('admin')(c, next);
};

function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : '';
}

function Problem(props: { title: string; message: string }) {
  return (
    <Layout title={props.title} nav={<Nav />}>
      <p role="alert">{props.message}</p>
      <p>
        <a href="/admin/linkedin">Terug naar LinkedIn</a>
      </p>
    </Layout>
  );
}

/**
 * /admin/linkedin (admins): the connection and its health, and the OAuth 2.0 authorization-code
 * flow: connect → LinkedIn → callback (state checked: signed, single use, same admin) → code
 * exchanged → the admin chooses one of the organisations they administer → tokens stored
 * encrypted; posts held for a broken connection go out again.
 */
export function linkedinAdminPages() {
  const app = new Hono<AppEnv>();
  app.use('*', adminOnly);
  const redirectUri = (c: import('hono').Context<AppEnv>) =>
    `${c.var.deps.config.publicBaseUrl}/admin/linkedin/callback`;

  app.get('/', async (c) => {
    const { db, clock, linkedin } = c.var.deps;
    const health = await linkedinHealth(
      db,
      {
        version: linkedin?.settings.version ?? DEFAULT_LINKEDIN_VERSION,
        envAccessToken: linkedin?.envAccessToken,
        envOrganizationId: linkedin?.envOrganizationId,
      },
      clock.now(),
    );
    const connection = await currentConnection(db);
    const csrf = c.var.principal?.csrfToken ?? '';
    const modeText = {
      'dry-run':
        'Niet gekoppeld: berichten gaan naar het proefvoer (/dev/linkedin) in plaats van naar LinkedIn.',
      environment: `Gekoppeld via LINKEDIN_ACCESS_TOKEN voor organisatie ${health.organizationId}.`,
      connected: `Gekoppeld met ${health.organizationName ?? ''} (organisatie ${health.organizationId}).`,
      broken: 'De koppeling werkt niet meer: koppel opnieuw. Berichten wachten zolang.',
    }[health.mode];
    return c.html(
      <Layout title="LinkedIn" nav={<Nav />}>
        <p>{modeText}</p>
        {health.accessTokenExpiresAt ? (
          <p>Het toegangstoken verloopt op {health.accessTokenExpiresAt}.</p>
        ) : null}
        {health.warnings.length > 0 ? (
          <ul class="error">
            {health.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        ) : null}
        {linkedin?.clientId && linkedin.clientSecret ? (
          <p>
            <a href="/admin/linkedin/connect">{connection ? 'Opnieuw koppelen' : 'Koppelen met LinkedIn'}</a>
          </p>
        ) : (
          <p>
            Stel LINKEDIN_CLIENT_ID en LINKEDIN_CLIENT_SECRET in om te koppelen (of LINKEDIN_ACCESS_TOKEN en
            LINKEDIN_ORGANIZATION_ID).
          </p>
        )}
        {connection ? (
          <form method="post" action="/admin/linkedin/disconnect">
            <input type="hidden" name="_csrf" value={csrf} />
            <button type="submit">Ontkoppelen</button>
          </form>
        ) : null}
      </Layout>,
    );
  });

  app.get('/connect', async (c) => {
    const { db, clock, linkedin } = c.var.deps;
    if (!linkedin?.clientId || !linkedin.clientSecret) {
      return c.html(
        <Problem
          title="Niet ingesteld"
          message="Stel LINKEDIN_CLIENT_ID en LINKEDIN_CLIENT_SECRET in om te koppelen."
        />,
        409,
      );
    }
    const state = await createOAuthState(db, linkedin.secretBox, c.var.principal!.user.id, clock.now());
    return c.redirect(
      authorizationUrl(
        linkedin.settings,
        { clientId: linkedin.clientId, clientSecret: linkedin.clientSecret },
        redirectUri(c),
        state,
      ),
      302,
    );
  });

  app.get('/callback', async (c) => {
    const { db, clock, linkedin, logger } = c.var.deps;
    if (!linkedin?.clientId || !linkedin.clientSecret) {
      return c.html(
        <Problem
          title="Niet ingesteld"
          message="Stel LINKEDIN_CLIENT_ID en LINKEDIN_CLIENT_SECRET in om te koppelen."
        />,
        409,
      );
    }
    const state = c.req.query('state') ?? '';
    if (!(await consumeOAuthState(db, linkedin.secretBox, state, c.var.principal!.user.id, clock.now()))) {
      return c.html(
        <Problem
          title="Koppelen mislukt"
          message="Deze terugkeer van LinkedIn is ongeldig, verlopen of al gebruikt. Begin opnieuw."
        />,
        400,
      );
    }
    const error = c.req.query('error');
    const code = c.req.query('code');
    if (error || !code) {
      const reason = c.req.query('error_description') ?? error ?? 'geen code ontvangen';
      return c.html(
        <Problem title="Koppelen geannuleerd" message={`LinkedIn gaf geen toestemming: ${reason}`} />,
        400,
      );
    }
    let pendingId: string;
    let organizations: { id: string; name: string }[];
    try {
      const app = { clientId: linkedin.clientId, clientSecret: linkedin.clientSecret };
      const tokens = await exchangeCode(linkedin.settings, app, code, redirectUri(c), clock.now());
      organizations = await listAdministeredOrganizations(linkedin.settings, tokens.accessToken);
      if (organizations.length === 0) {
        return c.html(
          <Problem
            title="Geen organisatie"
            message="Dit LinkedIn-account beheert geen organisatiepagina. Koppel met een account dat beheerder is."
          />,
          409,
        );
      }
      pendingId = await storePendingConnection(
        db,
        linkedin.secretBox,
        c.var.principal!.user.id,
        tokens,
        organizations,
      );
    } catch (caught) {
      if (!(caught instanceof LinkedInError)) throw caught;
      logger.warn({ err: caught.message }, 'linkedin connect failed');
      return c.html(<Problem title="Koppelen mislukt" message={`LinkedIn: ${caught.message}`} />, 502);
    }
    return c.html(chooseForm(pendingId, organizations, c.var.principal?.csrfToken ?? ''));
  });

  app.post('/organisation', async (c) => {
    const { db, clock } = c.var.deps;
    const form = await c.req.parseBody();
    try {
      await db
        .transaction()
        .execute((tx) =>
          activateConnection(
            tx,
            c.var.principal!,
            field(form, 'pending'),
            field(form, 'organizationId'),
            clock.now(),
          ),
        );
    } catch (error) {
      if (error instanceof DomainError)
        return c.html(<Problem title="Koppelen mislukt" message={error.message} />, error.status);
      throw error;
    }
    return c.redirect('/admin/linkedin', 303);
  });

  app.post('/disconnect', async (c) => {
    const { db, clock } = c.var.deps;
    await db.transaction().execute((tx) => disconnect(tx, c.var.principal!, clock.now()));
    return c.redirect('/admin/linkedin', 303);
  });

  app.get('/choose/:id{[0-9]+}', async (c) => {
    const pending = await pendingConnection(c.var.deps.db, c.req.param('id'), c.var.principal!.user.id);
    return c.html(chooseForm(pending.id, pending.organizations, c.var.principal?.csrfToken ?? ''));
  });

  return app;
}

function chooseForm(pendingId: string, organizations: { id: string; name: string }[], csrf: string) {
  return (
    <Layout title="Kies de organisatie" nav={<Nav />}>
      <form method="post" action="/admin/linkedin/organisation">
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="pending" value={pendingId} />
        <fieldset>
          <legend>Namens welke organisatie publiceert Thuispost?</legend>
          {organizations.map((o, index) => (
            <label key={o.id}>
              <input type="radio" name="organizationId" value={o.id} required checked={index === 0} />{' '}
              {o.name} ({o.id})
            </label>
          ))}
        </fieldset>
        <button type="submit">Koppelen</button>
      </form>
    </Layout>
  );
}

/** /dev/linkedin (admins): the dry-run feed — exactly the requests that would have gone to LinkedIn. */
export function linkedinDevPages() {
  const app = new Hono<AppEnv>();
  app.use('*', adminOnly);
  app.get('/', async (c) => {
    const entries = await c.var.deps.db
      .selectFrom('linkedin_dry_run_feed')
      .leftJoin('linkedin_posts', 'linkedin_posts.id', 'linkedin_dry_run_feed.post_id')
      .select([
        'linkedin_dry_run_feed.id',
        'linkedin_dry_run_feed.post_id',
        'linkedin_dry_run_feed.post_urn',
        'linkedin_dry_run_feed.requests',
        'linkedin_dry_run_feed.created_at',
        'linkedin_posts.title',
      ])
      .orderBy('linkedin_dry_run_feed.id', 'desc')
      .limit(100)
      .execute();
    return c.html(
      <Layout title="LinkedIn-proefvoer" nav={<Nav />}>
        <p>
          Zonder LinkedIn-gegevens (geen koppeling en geen LINKEDIN_ACCESS_TOKEN) worden berichten hier
          getoond in plaats van gepubliceerd: precies de verzoeken die naar LinkedIn zouden gaan (zonder het
          token). Ze tellen als gepubliceerd, gemarkeerd als proef (urn:li:share:dryrun-…).
        </p>
        {entries.length === 0 ? <p>Nog geen berichten.</p> : null}
        {entries.map((e) => (
          <article key={e.id}>
            <h2>
              {e.title ?? 'Bericht'} · {e.post_urn} · PROEF
            </h2>
            <p>
              Bericht {e.post_id} · {e.created_at.toISOString()}
            </p>
            <pre>{JSON.stringify(e.requests, null, 2)}</pre>
          </article>
        ))}
      </Layout>,
    );
  });
  return app;
}
