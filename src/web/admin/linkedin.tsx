/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { AppEnv } from '../../api/deps.js';
import { DEFAULT_LINKEDIN_VERSION } from '../../config.js';
import {
  activateConnection,
  consumeOAuthState,
  createOAuthState,
  currentConnection,
  disconnect,
  type LinkedInHealth,
  linkedinHealth,
  pendingConnection,
  storePendingConnection,
} from '../../domain/linkedin.js';
import { roleAtLeast } from '../../domain/users.js';
import {
  authorizationUrl,
  exchangeCode,
  LinkedInError,
  listAdministeredOrganizations,
} from '../../providers/linkedin.js';
import { adminArea } from './area.js';
import {
  ActionButton,
  AdminPage,
  domainFieldErrors,
  ErrorPage,
  ErrorSummary,
  type FieldErrors,
  fieldId,
  formatDateTime,
  PostForm,
  readForm,
} from './ui.js';

/** The LinkedIn connection's health as the API's GET /linkedin/health reports it. */
export function currentLinkedinHealth(c: Context<AppEnv>) {
  const { db, clock, linkedin } = c.var.deps;
  return linkedinHealth(
    db,
    {
      version: linkedin?.settings.version ?? DEFAULT_LINKEDIN_VERSION,
      envAccessToken: linkedin?.envAccessToken,
      envOrganizationId: linkedin?.envOrganizationId,
    },
    clock.now(),
  );
}

/** The connection's warnings (expiry, refused token, old API version, held posts); for admins, the way out for held posts. */
export function HealthWarnings(props: { c: Context<AppEnv>; health: LinkedInHealth }) {
  const { c, health } = props;
  if (health.warnings.length === 0) return null;
  return (
    <div class="warning">
      <h2>Let op</h2>
      <ul>
        {health.warnings.map((warning) => (
          <li key={warning}>{warning}</li>
        ))}
      </ul>
      {health.heldPosts > 0 && c.var.principal && roleAtLeast(c.var.principal.role, 'admin') ? (
        <ActionButton
          c={c}
          action="/admin/posts/requeue-held"
          label="Wachtende berichten opnieuw versturen"
        />
      ) : null}
    </div>
  );
}

const NOT_CONFIGURED = 'Stel LINKEDIN_CLIENT_ID en LINKEDIN_CLIENT_SECRET in om te koppelen.';

/**
 * /admin/linkedin (admins): the connection and its health, and the OAuth 2.0 authorization-code
 * flow: connect → LinkedIn → callback (state checked: signed, single use, same admin) → code
 * exchanged → the admin chooses one of the organisations they administer → tokens stored
 * encrypted; posts held for a broken connection go out again.
 */
export function linkedinAdminPages() {
  const app = adminArea('admin');
  const redirectUri = (c: Context<AppEnv>) => `${c.var.deps.config.publicBaseUrl}/admin/linkedin/callback`;

  app.get('/', async (c) => {
    const { db, linkedin } = c.var.deps;
    const health = await currentLinkedinHealth(c);
    const connection = await currentConnection(db);
    const modeText = {
      'dry-run': 'Niet gekoppeld: berichten gaan naar het proefvoer in plaats van naar LinkedIn.',
      environment: `Gekoppeld via LINKEDIN_ACCESS_TOKEN voor organisatie ${health.organizationId}.`,
      connected: `Gekoppeld met ${health.organizationName ?? ''} (organisatie ${health.organizationId}).`,
      broken: 'De koppeling werkt niet meer: koppel opnieuw. Berichten wachten zolang.',
    }[health.mode];
    return c.html(
      <AdminPage c={c} title="LinkedIn-koppeling">
        <p>{modeText}</p>
        {health.mode === 'dry-run' ? (
          <p>
            <a href="/dev/linkedin">Naar het LinkedIn-proefvoer</a>
          </p>
        ) : null}
        {health.accessTokenExpiresAt ? (
          <p>Het toegangstoken verloopt op {formatDateTime(new Date(health.accessTokenExpiresAt))}.</p>
        ) : null}
        <p>
          LinkedIn-API-versie {health.version} ({health.versionAgeMonths} maanden oud).
        </p>
        <HealthWarnings c={c} health={health} />
        {linkedin?.clientId && linkedin.clientSecret ? (
          <p>
            <a href="/admin/linkedin/connect">{connection ? 'Opnieuw koppelen' : 'Koppelen met LinkedIn'}</a>
          </p>
        ) : (
          <p>{NOT_CONFIGURED} Of stel LINKEDIN_ACCESS_TOKEN en LINKEDIN_ORGANIZATION_ID in.</p>
        )}
        {connection ? (
          <ActionButton c={c} action="/admin/linkedin/disconnect" label="Ontkoppelen" variant="danger" />
        ) : null}
      </AdminPage>,
    );
  });

  app.get('/connect', async (c) => {
    const { db, clock, linkedin } = c.var.deps;
    if (!linkedin?.clientId || !linkedin.clientSecret) {
      return c.html(<ErrorPage c={c} status={409} message={NOT_CONFIGURED} />, 409);
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
      return c.html(<ErrorPage c={c} status={409} message={NOT_CONFIGURED} />, 409);
    }
    const state = c.req.query('state') ?? '';
    if (!(await consumeOAuthState(db, linkedin.secretBox, state, c.var.principal!.user.id, clock.now()))) {
      const message =
        'Koppelen mislukt: deze terugkeer van LinkedIn is ongeldig, verlopen of al gebruikt. Begin opnieuw.';
      return c.html(<ErrorPage c={c} status={400} message={message} />, 400);
    }
    const error = c.req.query('error');
    const code = c.req.query('code');
    if (error || !code) {
      const reason = c.req.query('error_description') ?? error ?? 'geen code ontvangen';
      return c.html(
        <ErrorPage
          c={c}
          status={400}
          message={`Koppelen geannuleerd: LinkedIn gaf geen toestemming (${reason}).`}
        />,
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
        const message =
          'Dit LinkedIn-account beheert geen organisatiepagina. Koppel met een account dat beheerder is.';
        return c.html(<ErrorPage c={c} status={409} message={message} />, 409);
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
      return c.html(
        <ErrorPage c={c} status={502} message={`Koppelen mislukt. LinkedIn: ${caught.message}`} />,
        502,
      );
    }
    return c.html(<ChooseOrganisation c={c} pendingId={pendingId} organizations={organizations} />);
  });

  app.get('/choose/:id{[0-9]{1,18}}', async (c) => {
    const pending = await pendingConnection(c.var.deps.db, c.req.param('id'), c.var.principal!.user.id);
    return c.html(<ChooseOrganisation c={c} pendingId={pending.id} organizations={pending.organizations} />);
  });

  app.post('/organisation', async (c) => {
    const { db, clock } = c.var.deps;
    const form = await readForm(c);
    const pendingId = typeof form.pending === 'string' ? form.pending : '';
    const organizationId = typeof form.organizationId === 'string' ? form.organizationId : '';
    try {
      await db
        .transaction()
        .execute((tx) => activateConnection(tx, c.var.principal!, pendingId, organizationId, clock.now()));
    } catch (error) {
      const errors = domainFieldErrors(error);
      if (!errors) throw error;
      const pending = await pendingConnection(db, pendingId, c.var.principal!.user.id);
      return c.html(
        <ChooseOrganisation
          c={c}
          pendingId={pending.id}
          organizations={pending.organizations}
          errors={errors}
        />,
        422,
      );
    }
    return c.redirect('/admin/linkedin', 303);
  });

  app.post('/disconnect', async (c) => {
    const { db, clock } = c.var.deps;
    await db.transaction().execute((tx) => disconnect(tx, c.var.principal!, clock.now()));
    return c.redirect('/admin/linkedin', 303);
  });

  return app;
}

function ChooseOrganisation(props: {
  c: Context<AppEnv>;
  pendingId: string;
  organizations: { id: string; name: string }[];
  errors?: FieldErrors;
}) {
  const error = props.errors?.organizationId;
  const id = fieldId('organizationId');
  return (
    <AdminPage c={props.c} title="Kies de organisatie">
      <ErrorSummary errors={props.errors ?? {}} />
      <PostForm c={props.c} action="/admin/linkedin/organisation">
        <input type="hidden" name="pending" value={props.pendingId} />
        <fieldset id={id} aria-describedby={error ? `${id}-error` : undefined}>
          <legend>Namens welke organisatie publiceert Thuispost?</legend>
          {error ? (
            <p class="field-error" id={`${id}-error`}>
              {error}
            </p>
          ) : null}
          {props.organizations.map((organization, index) => (
            <label class="check" key={organization.id}>
              <input type="radio" name="organizationId" value={organization.id} checked={index === 0} />
              {organization.name} ({organization.id})
            </label>
          ))}
        </fieldset>
        <button type="submit">Koppelen</button>
      </PostForm>
    </AdminPage>
  );
}

/** /dev/linkedin (admins): the dry-run feed — exactly the requests that would have gone to LinkedIn. */
export function linkedinDevPages() {
  const app = adminArea('admin');
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
      <AdminPage c={c} title="LinkedIn-proefvoer">
        <p>
          Zonder LinkedIn-gegevens (geen koppeling en geen LINKEDIN_ACCESS_TOKEN) worden berichten hier
          getoond in plaats van gepubliceerd: precies de verzoeken die naar LinkedIn zouden gaan (zonder het
          token). Ze tellen als gepubliceerd, gemarkeerd als proef (urn:li:share:dryrun-…).
        </p>
        {entries.length === 0 ? <p>Nog geen berichten.</p> : null}
        {entries.map((entry) => (
          <article key={entry.id}>
            <h2>
              {entry.title ?? 'Bericht'} · {entry.post_urn} · PROEF
            </h2>
            <p>
              <a href={`/admin/posts/${entry.post_id}`}>Bericht {entry.post_id}</a> ·{' '}
              {formatDateTime(entry.created_at)}
            </p>
            <pre>{JSON.stringify(entry.requests, null, 2)}</pre>
          </article>
        ))}
      </AdminPage>,
    );
  });
  return app;
}
