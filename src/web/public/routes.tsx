import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import type { AppDeps, AppEnv } from '../../api/deps.js';
import { declaredBodyLimit } from '../../api/middleware/body-limit.js';
import { problem } from '../../api/problem.js';
import { pageStrings } from '../i18n.js';
import { isFormPost, queryLang, renderPage, settingsOf } from './common.js';
import {
  handleConfirm,
  handlePreferences,
  handleResend,
  handleUnsubscribe,
  showConfirm,
  showPreferences,
  showUnsubscribe,
} from './links.js';
import { handleSignup, SIGNUP_BODY_LIMIT, showSignupForm } from './signup.js';

/** Token pages take small forms only (a reason of 500 characters at most). */
const LINK_BODY_LIMIT = 16 * 1024;

/** Middleware made from the app's configuration: built once per configuration, not per request. */
function perConfig(
  build: (config: AppDeps['config']) => MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  const built = new WeakMap<AppDeps['config'], MiddlewareHandler<AppEnv>>();
  return (c, next) => {
    const { config } = c.var.deps;
    let handler = built.get(config);
    if (!handler) {
      handler = build(config);
      built.set(config, handler);
    }
    return handler(c, next);
  };
}

/**
 * What a subscriber sees, in Dutch (default) and English, without JavaScript: signup (also
 * embeddable on the programme's sites), confirmation, unsubscribe (with RFC 8058 one-click) and
 * preferences. Mounted at `/`.
 */
export function publicPages() {
  const app = new Hono<AppEnv>();

  // CORS only where sites need it (posting the signup form, reading the snippet), and only for
  // the configured site origins; never credentials.
  const siteCors = perConfig((config) => {
    const preflight = cors({
      origin: (origin) => (config.siteOrigins.includes(origin) ? origin : null),
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type', 'accept'],
      maxAge: 600,
    });
    // The same headers as hono's cors for the request itself, but set before the handler: hono's
    // adds `Vary` after it, which makes node-server rebuild the finished response (~10 % of a signup).
    return async (c, next) => {
      if (c.req.method === 'OPTIONS') return preflight(c, next);
      const origin = c.req.header('origin');
      if (origin !== undefined && config.siteOrigins.includes(origin)) {
        c.header('access-control-allow-origin', origin);
      }
      c.header('vary', 'Origin', { append: true });
      await next();
    };
  });

  // The signup pages may be framed by the configured sites (app.ts leaves their headers to us).
  const signupSecurityHeaders = perConfig((config) =>
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        formAction: ["'self'"],
        frameAncestors: ["'self'", ...config.siteOrigins],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      xFrameOptions: false,
      crossOriginResourcePolicy: 'cross-origin',
      strictTransportSecurity: config.publicBaseUrl.startsWith('https:') ? 'max-age=31536000' : false,
      referrerPolicy: 'strict-origin-when-cross-origin',
    }),
  );
  app.use('/subscribe', signupSecurityHeaders);
  app.use('/subscribe/embed', signupSecurityHeaders);

  const tooLarge = (limitFor: 'signup' | 'link') =>
    declaredBodyLimit({
      maxSize: limitFor === 'signup' ? SIGNUP_BODY_LIMIT : LINK_BODY_LIMIT,
      onError: async (ctx) => {
        const lang = queryLang(ctx) ?? 'nl';
        const t = pageStrings(lang);
        if (!isFormPost(ctx)) return problem(ctx, 413, 'Payload too large', t.errors.tooLarge);
        return renderPage(
          ctx,
          {
            lang,
            title: t.errors.tooLargeTitle,
            settings: await settingsOf(ctx),
            status: 413,
            switchTo: null,
          },
          t.errors.tooLarge,
        );
      },
    });
  const signupLimit = tooLarge('signup');
  const linkLimit = tooLarge('link');

  app.get('/subscribe', (c) => showSignupForm(c, false));
  app.options('/subscribe', siteCors);
  app.post('/subscribe', siteCors, signupLimit, (c) => handleSignup(c));
  app.get('/subscribe/embed', siteCors, (c) => showSignupForm(c, true));
  app.options('/subscribe/embed', siteCors);

  app.get('/confirm/:token', (c) => showConfirm(c));
  app.post('/confirm/:token', linkLimit, (c) => handleConfirm(c));
  app.post('/confirm/:token/resend', linkLimit, (c) => handleResend(c));

  app.get('/unsubscribe/:token', (c) => showUnsubscribe(c));
  app.post('/unsubscribe/:token', linkLimit, (c) => handleUnsubscribe(c));

  app.get('/preferences/:token', (c) => showPreferences(c));
  app.post('/preferences/:token', linkLimit, (c) => handlePreferences(c));

  return app;
}
