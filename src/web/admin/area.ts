import { Hono } from 'hono';
import type { AppEnv } from '../../api/deps.js';
import type { Role } from '../../db/schema.js';
import { adminAccess, adminErrorPage } from './ui.js';

/**
 * A router for one admin area: open to `role` and above (stricter routes add their own
 * `adminAccess`), with Dutch error pages instead of problem+json.
 */
export function adminArea(role: Role) {
  const app = new Hono<AppEnv>();
  app.onError(adminErrorPage);
  app.use('*', adminAccess(role));
  return app;
}
