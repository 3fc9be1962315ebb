import { OpenAPIHono, z } from '@hono/zod-openapi';
import { audit } from '../../domain/audit.js';
import { queueEmail } from '../../domain/emails.js';
import { getMailboxMessage, listMailbox } from '../../domain/mailbox.js';
import { hit } from '../../domain/rate-limits.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam } from '../openapi.js';

const MailboxMessageSchema = z
  .object({
    id: z.string(),
    messageId: z.string(),
    from: z.string(),
    to: z.array(z.string()),
    subject: z.string(),
    createdAt: z.string(),
    html: z.string().optional(),
    text: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .openapi('MailboxMessage');

export function systemRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/test-email',
      access: 'admin',
      tags: ['system'],
      summary: 'Send a test email to check the mail set-up (through the outbox and the worker)',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({ to: z.string().trim().max(254).email('Enter a valid email address.') }),
            },
          },
        },
      },
      responses: {
        202: {
          description: 'Queued',
          content: { 'application/json': { schema: z.object({ emailId: z.string() }) } },
        },
      },
    }),
    async (c) => {
      const { to } = c.req.valid('json');
      const { db, clock } = c.var.deps;
      const principal = c.var.principal!;
      await hit(
        db,
        clock,
        { key: `test-email:user:${principal.user.id}`, limit: 10, windowMs: 60 * 60 * 1000 },
        'At most 10 test emails per hour.',
      );
      const emailId = await db.transaction().execute(async (tx) => {
        const id = await queueEmail(tx, {
          kind: 'test',
          to,
          subject: 'Testbericht van Thuispost',
          html: '<!doctype html><html lang="nl"><body><p>Dit is een testbericht. De e-mailinstellingen werken.</p></body></html>',
          text: 'Dit is een testbericht. De e-mailinstellingen werken.',
        });
        await audit(tx, principal, 'system.test-email', `email:${id}`);
        return id;
      });
      return c.json({ emailId }, 202);
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/mailbox',
      access: 'admin',
      tags: ['system'],
      summary: 'Messages in the dev mailbox (stored instead of sent when Resend is not configured)',
      responses: {
        200: {
          description: 'Newest first',
          content: { 'application/json': { schema: z.object({ messages: z.array(MailboxMessageSchema) }) } },
        },
      },
    }),
    async (c) => {
      const rows = await listMailbox(c.var.deps.db);
      return c.json(
        {
          messages: rows.map((row) => ({
            id: row.id,
            messageId: row.message_id,
            from: row.from_address,
            to: row.to_addresses,
            subject: row.subject,
            createdAt: row.created_at.toISOString(),
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/mailbox/{id}',
      access: 'admin',
      tags: ['system'],
      summary: 'One message of the dev mailbox with HTML, text and headers',
      request: { params: IdParam },
      responses: {
        200: {
          description: 'The message',
          content: { 'application/json': { schema: MailboxMessageSchema } },
        },
      },
    }),
    async (c) => {
      const row = await getMailboxMessage(c.var.deps.db, c.req.valid('param').id);
      return c.json(
        {
          id: row.id,
          messageId: row.message_id,
          from: row.from_address,
          to: row.to_addresses,
          subject: row.subject,
          createdAt: row.created_at.toISOString(),
          html: row.html,
          text: row.text,
          headers: row.headers,
        },
        200,
      );
    },
  );

  return app;
}
