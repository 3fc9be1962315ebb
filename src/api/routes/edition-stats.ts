import { OpenAPIHono, z } from '@hono/zod-openapi';
import { type DELIVERY_STATUSES, deliveryLog, editionStats } from '../../domain/edition-stats.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, IdParam, jsonContent } from '../openapi.js';

const DeliveryStatusSchema = z.enum([
  'queued',
  'sent',
  'delivered',
  'bounced',
  'soft_bounced',
  'complained',
  'failed',
  'suppressed',
  'cancelled',
] satisfies typeof DELIVERY_STATUSES);
const count = z.number().int().min(0);
const rate = z.number().nullable();

const EditionStatsSchema = z
  .object({
    editionId: z.string(),
    editionStatus: z.string(),
    openTracking: z.boolean(),
    recipients: count.openapi({
      description: 'Delivery rows: the recipients snapshotted when sending started',
    }),
    sent: count.openapi({ description: 'Accepted by the provider (whatever happened after)' }),
    byStatus: z
      .record(z.string(), count)
      .openapi({ description: 'Current status of each delivery; adds up to recipients' }),
    delivered: count,
    bounced: count.openapi({ description: 'Hard (permanent) bounces' }),
    softBounced: count.openapi({ description: 'Transient bounces not (yet) followed by a delivery' }),
    complained: count,
    failed: count,
    suppressed: count,
    cancelled: count,
    queued: count,
    awaitingOutcome: count.openapi({
      description: 'Accepted by the provider; no delivery or bounce reported yet',
    }),
    unsubscribedSince: count.openapi({
      description: 'Recipients who withdrew (fully or from a topic) since sending started',
    }),
    opened: count.nullable().openapi({ description: 'Opened at least once; null when open tracking is off' }),
    clicks: z.object({
      total: count,
      links: z.array(z.object({ url: z.string(), clicks: count })),
    }),
    progress: z.object({
      sent: count,
      processed: count.openapi({ description: 'No longer queued (sent, failed, suppressed or cancelled)' }),
      total: count,
      percent: z.number().openapi({ description: 'processed / total × 100, one decimal' }),
    }),
    rates: z.object({
      bounce: rate.openapi({ description: 'Hard bounces / sent, as a fraction (0.02 = 2 %)' }),
      complaint: rate.openapi({ description: 'Complaints / sent, as a fraction (0.001 = 0.1 %)' }),
      open: rate.openapi({ description: 'Opened / sent; null when open tracking is off' }),
    }),
  })
  .openapi('EditionStats');

const DeliverySchema = z
  .object({
    id: z.string(),
    subscriberId: z.string().nullable(),
    email: z.string().nullable().openapi({ description: 'Null after the subscriber was erased' }),
    status: DeliveryStatusSchema,
    error: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    sentAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    openedAt: z.string().nullable().openapi({ description: 'Only with open tracking' }),
    updatedAt: z.string(),
  })
  .openapi('Delivery');

const iso = (value: Date | null) => value?.toISOString() ?? null;

/** Statistics and the delivery log of an edition (mounted beside the editions router). */
export function editionStatsRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/stats',
      access: 'viewer',
      tags: ['editions'],
      summary: 'Delivery statistics of an edition: progress, outcomes, rates, unsubscribes and clicks',
      request: { params: IdParam },
      responses: {
        200: { description: 'Counted from the deliveries table', content: jsonContent(EditionStatsSchema) },
      },
    }),
    async (c) => c.json(await editionStats(c.var.deps.db, c.req.valid('param').id), 200),
  );

  app.openapi(
    apiRoute({
      method: 'get',
      path: '/{id}/deliveries',
      access: 'viewer',
      tags: ['editions'],
      summary: 'The delivery log: did this person get it? Oldest first, a page at a time',
      request: {
        params: IdParam,
        query: z.object({
          q: z
            .string()
            .max(254)
            .optional()
            .openapi({ description: 'Part of the email address (literal, case-insensitive)' }),
          status: DeliveryStatusSchema.optional(),
          after: z
            .string()
            .regex(/^\d{1,18}$/, 'must be a delivery id')
            .optional()
            .openapi({ description: 'nextAfter of the previous page' }),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
      },
      responses: {
        200: {
          description: 'One page; nextAfter is null on the last one',
          content: jsonContent(
            z.object({ items: z.array(DeliverySchema), nextAfter: z.string().nullable() }),
          ),
        },
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const page = await deliveryLog(c.var.deps.db, id, c.req.valid('query'));
      return c.json(
        {
          items: page.items.map((d) => ({
            ...d,
            sentAt: iso(d.sentAt),
            deliveredAt: iso(d.deliveredAt),
            openedAt: iso(d.openedAt),
            updatedAt: d.updatedAt.toISOString(),
          })),
          nextAfter: page.nextAfter,
        },
        200,
      );
    },
  );

  return app;
}
