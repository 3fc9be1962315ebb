/** @jsxImportSource hono/jsx */
import { getMailboxMessage, listMailbox } from '../../domain/mailbox.js';
import { sandboxedHtml } from '../sandboxed-html.js';
import { adminArea } from './area.js';
import { AdminPage, formatDateTime } from './ui.js';

/** The local mailbox (admins only): what would have been sent, with HTML, text and headers. */
export function mailboxPages() {
  const app = adminArea('admin');

  app.get('/', async (c) => {
    const messages = await listMailbox(c.var.deps.db);
    return c.html(
      <AdminPage c={c} title="Mailbox">
        {c.var.deps.config.mailerKind === 'resend' ? (
          <p>Resend is ingesteld: nieuwe berichten worden echt verstuurd en komen hier niet meer.</p>
        ) : (
          <p>Er is geen RESEND_API_KEY ingesteld: berichten worden hier bewaard in plaats van verstuurd.</p>
        )}
        <table>
          <thead>
            <tr>
              <th scope="col">Tijd</th>
              <th scope="col">Aan</th>
              <th scope="col">Onderwerp</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.id}>
                <td>{formatDateTime(m.created_at)}</td>
                <td>{m.to_addresses.join(', ')}</td>
                <td>
                  <a href={`/dev/mailbox/${m.id}`}>{m.subject}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </AdminPage>,
    );
  });

  app.get('/:id{[0-9]{1,18}}', async (c) => {
    const m = await getMailboxMessage(c.var.deps.db, c.req.param('id'));
    return c.html(
      <AdminPage c={c} title={m.subject}>
        <p>
          Van {m.from_address} aan {m.to_addresses.join(', ')} · {formatDateTime(m.created_at)}
        </p>
        <h2>HTML</h2>
        <iframe title="HTML-versie van het bericht" sandbox="" src={`/dev/mailbox/${m.id}/html`} />
        <h2>Tekst</h2>
        <pre>{m.text}</pre>
        <h2>Headers</h2>
        <pre>{JSON.stringify(m.headers, null, 2)}</pre>
      </AdminPage>,
    );
  });

  // Served with a sandboxing CSP: the message's own HTML must not run script in our origin.
  app.get('/:id{[0-9]{1,18}}/html', async (c) => {
    const m = await getMailboxMessage(c.var.deps.db, c.req.param('id'));
    return sandboxedHtml(c, m.html);
  });

  return app;
}
