import { OpenAPIHono, z } from '@hono/zod-openapi';
import { checkSenderHealth } from '../../domain/sender-health.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, jsonContent } from '../openapi.js';

const LevelSchema = z.enum(['warning', 'critical']);

const DnsRecordSchema = z.object({
  record: z.string().openapi({ description: 'SPF, DKIM, Receiving, Tracking, …' }),
  type: z.string().openapi({ description: 'DNS record type: TXT, MX, CNAME, …' }),
  name: z.string(),
  value: z.string(),
  status: z.string(),
  priority: z.number().nullable(),
});

const SenderHealthSchema = z
  .object({
    ok: z.boolean(),
    mode: z.enum(['resend', 'mailbox']),
    message: z.string(),
    messageNl: z.string().openapi({ description: 'The same in Dutch' }),
    domain: z
      .object({
        name: z.string(),
        status: z
          .string()
          .openapi({ description: "Resend's status, or not_found / unknown (could not be checked)" }),
        verified: z.boolean(),
        id: z.string().nullable(),
        region: z.string().nullable(),
        unverifiedRecords: z.array(DnsRecordSchema),
      })
      .nullable(),
    recent: z.object({
      editions: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          sentAt: z.string().nullable(),
          sent: z.number().int(),
          bounced: z.number().int(),
          complained: z.number().int(),
        }),
      ),
      sent: z.number().int(),
      bounced: z.number().int(),
      complained: z.number().int(),
      bounceRate: z.number().nullable().openapi({ description: 'Hard bounces / sent, as a fraction' }),
      complaintRate: z.number().nullable().openapi({ description: 'Complaints / sent, as a fraction' }),
    }),
    warnings: z.array(z.object({ level: LevelSchema, message: z.string(), messageNl: z.string() })),
    checkedAt: z.string(),
  })
  .openapi('SenderHealth');

export function senderHealthRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/sender-health',
      access: 'admin',
      tags: ['system'],
      summary: 'Is the sending domain verified at Resend, and are recent bounce and complaint rates safe?',
      description:
        'Asks Resend for the domain of EMAIL_FROM and lists its DNS records that are not verified. Warns when the ' +
        'hard-bounce or complaint rate of the last 5 sent editions approaches the Gmail/Yahoo limits (complaints: ' +
        'warning at 0.08 %, critical at 0.1 %; hard bounces: warning at 2 %, critical at 4 %). When Resend cannot be ' +
        'reached the answer says so (200 with a warning).',
      responses: { 200: { description: 'The sender health', content: jsonContent(SenderHealthSchema) } },
    }),
    async (c) => {
      const { db, clock, config, senderDomains } = c.var.deps;
      const health = await checkSenderHealth(db, {
        mailerKind: config.mailerKind,
        emailFrom: config.emailFrom,
        senderDomains,
        now: clock.now(),
      });
      return c.json(
        {
          ...health,
          recent: {
            ...health.recent,
            editions: health.recent.editions.map((e) => ({ ...e, sentAt: e.sentAt?.toISOString() ?? null })),
          },
          checkedAt: health.checkedAt.toISOString(),
        },
        200,
      );
    },
  );

  return app;
}
