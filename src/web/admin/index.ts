import { Hono } from 'hono';
import type { AppEnv } from '../../api/deps.js';
import { authPages } from './auth.js';
import { dashboardPages } from './dashboard.js';
import { documentPages } from './documents.js';
import { editionPages } from './editions.js';
import { linkedinAdminPages } from './linkedin.js';
import { organisationPages } from './organisations.js';
import { postPages } from './posts.js';
import { queuePages } from './queues.js';
import { subscriberPages } from './subscribers.js';
import { tokenPages } from './tokens.js';
import { topicPages } from './topics.js';
import { userPages } from './users.js';

/**
 * The editors' admin UI under /admin: server-rendered pages, one file per area beside this one.
 * Login and setup come first: they are the only pages open without a session.
 */
export function adminUi() {
  const app = new Hono<AppEnv>();
  app.route('/', authPages());
  app.route('/linkedin', linkedinAdminPages());
  app.route('/posts', postPages());
  app.route('/users', userPages());
  app.route('/tokens', tokenPages());
  app.route('/queues', queuePages());
  app.route('/subscribers', subscriberPages());
  app.route('/organisations', organisationPages());
  app.route('/topics', topicPages());
  app.route('/documents', documentPages());
  app.route('/editions', editionPages());
  app.route('/', dashboardPages());
  return app;
}
