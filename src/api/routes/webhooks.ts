import { OpenAPIHono, z } from '@hono/zod-openapi';
import { Webhook, WebhookVerificationError } from 'svix';
import { DomainError, Unauthorized } from '../../domain/errors.js';
import { parseResendEvent, recordResendEvent, UnreadableEvent } from '../../domain/provider-events.js';
import type { AppEnv } from '../deps.js';
import { apiRoute, jsonContent, ProblemSchema } from '../openapi.js';

/** A svix-id is a short message id ("msg_…"); anything longer is not one. */
const MAX_SVIX_ID = 200;

class WebhookNotConfigured extends DomainError {
  constructor(problem = 'are not configured on this server') {
    super(
      `Resend webhooks ${problem}: set RESEND_WEBHOOK_SECRET to the signing secret (whsec_…) of the webhook in the Resend dashboard. Unsigned events are never accepted.`,
      503,
      'Service unavailable',
    );
  }
}

function verifier(secret: string): Webhook {
  try {
    return new Webhook(secret);
  } catch {
    throw new WebhookNotConfigured(
      'cannot be checked: the configured secret is not valid base64 after whsec_',
    );
  }
}

const ReceivedSchema = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean().openapi({ description: 'The svix-id was seen before; nothing changed' }),
  })
  .openapi('WebhookReceived');

/**
 * Provider webhooks. Public (the Svix signature is the authentication) and outside /api/v1, so
 * no session, CSRF or JSON middleware touches the request: the signature covers the raw body,
 * which is read here untouched, verified, and only then parsed.
 */
export function webhookRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute({
      method: 'post',
      path: '/resend',
      access: 'public',
      tags: ['webhooks'],
      summary: 'Resend delivery events (signed by Svix)',
      description:
        'Send the raw event with the `svix-id`, `svix-timestamp` and `svix-signature` headers; the signature must ' +
        'match RESEND_WEBHOOK_SECRET and the timestamp be within 5 minutes. Each svix-id is applied once; a replay ' +
        'answers 200 and changes nothing. Events for unknown message ids (e.g. transactional mail) are stored and acknowledged.',
      responses: {
        200: { description: 'Stored (and applied) or already seen', content: jsonContent(ReceivedSchema) },
        503: {
          description: 'No webhook secret is configured; no event is accepted',
          content: { 'application/problem+json': { schema: ProblemSchema } },
        },
      },
    }),
    async (c) => {
      const { db, clock, config } = c.var.deps;
      const secret = config.webhookSecret;
      if (!secret) throw new WebhookNotConfigured();
      // The exact bytes that were signed: read before anything could parse and re-serialise them.
      const raw = await c.req.text();
      const headers = {
        'svix-id': c.req.header('svix-id') ?? '',
        'svix-timestamp': c.req.header('svix-timestamp') ?? '',
        'svix-signature': c.req.header('svix-signature') ?? '',
      };
      const webhook = verifier(secret);
      try {
        // Checks the HMAC (constant time) and that the timestamp is within 5 minutes either way.
        webhook.verify(raw, headers);
      } catch (error) {
        // The SDK parses the body as JSON once the signature matched: a SyntaxError means signed, not JSON.
        if (error instanceof SyntaxError) throw new UnreadableEvent('The body is not JSON.');
        if (!(error instanceof WebhookVerificationError)) throw error;
        c.var.logger.warn({ reason: error.message }, 'resend webhook refused: bad signature');
        throw new Unauthorized(
          'The webhook signature is missing, invalid or outside the 5-minute tolerance.',
        );
      }
      const svixId = headers['svix-id'];
      if (svixId.length > MAX_SVIX_ID)
        throw new UnreadableEvent('The svix-id header is too long to be a message id.');
      const event = parseResendEvent(raw);
      const outcome = await db.transaction().execute((tx) => recordResendEvent(tx, clock, svixId, event));
      c.var.logger.info({ svixId, type: event.type, ...outcome }, 'resend webhook');
      return c.json({ received: true as const, duplicate: outcome.duplicate }, 200);
    },
  );

  return app;
}
